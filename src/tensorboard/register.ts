/**
 * TensorBoard: `mlplat:open-tensorboard` (tabs through the server's proxy)
 * and the model of the sidebar's TensorBoards section.
 */
import type { ITensorBoard } from '../api';
import { startWithServer, type IMlplatContext } from '../context';
import { registerTensorBoardCommands } from './commands';
import { TensorBoardsModel } from './model';

/** TensorBoards start and stop less often than jobs change. */
const TENSORBOARDS_POLL_FACTOR = 2;

export interface ITensorBoards {
  model: TensorBoardsModel;
  /** Show an instance in its tab. */
  show: (tensorboard: ITensorBoard) => void;
}

export function registerTensorBoards(context: IMlplatContext): ITensorBoards {
  const commands = registerTensorBoardCommands(context.app, context.api);
  const model = new TensorBoardsModel({
    api: context.api,
    interval: context.settings.current.pollInterval * TENSORBOARDS_POLL_FACTOR,
    feed: context.feed,
    opened: commands.changed
  });
  startWithServer(context, model, TENSORBOARDS_POLL_FACTOR);
  return { model, show: commands.show };
}
