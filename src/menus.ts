/**
 * The commands that belong to no single feature ("Show ML Platform Panel")
 * and the palette entries of every feature's commands.
 */
import type { IMlplatContext } from './context';
import type { MlplatPanel } from './panel/widget';
import { COMMAND_CATEGORY, CommandIDs } from './tokens';

/** The commands listed in the palette under "ML Platform". */
export const PALETTE_COMMANDS = [
  CommandIDs.openPanel,
  CommandIDs.submitNotebook,
  CommandIDs.runNotebook,
  CommandIDs.scheduleNotebook,
  CommandIDs.openJob,
  CommandIDs.refreshJobs
];

export function registerMenus(
  context: IMlplatContext,
  panel: MlplatPanel
): void {
  const { commands, shell } = context.app;
  commands.addCommand(CommandIDs.openPanel, {
    label: 'Show ML Platform Panel',
    caption: 'Jobs, storage, runs, models and TensorBoards',
    describedBy: { args: { type: 'object', properties: {} } },
    execute: () => shell.activateById(panel.id)
  });
  for (const command of PALETTE_COMMANDS) {
    context.palette?.addItem({ command, category: COMMAND_CATEGORY });
  }
}
