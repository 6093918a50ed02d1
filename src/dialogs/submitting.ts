import { Dialog } from '@jupyterlab/apputils';
import type { Widget } from '@lumino/widgets';

/**
 * A dialog body that sends what it collected itself: the dialog's accept
 * button follows `onReadyChanged`, and accepting closes the dialog only once
 * `submit()` says the server took it (a refusal keeps it open with the
 * server's message).
 */
export interface ISubmittingBody<T> extends Widget, Dialog.IBodyWidget<T> {
  onReadyChanged: (ready: boolean) => void;
  submit(): Promise<boolean>;
}

/**
 * The submit, schedule and deploy dialogs: cancel closes, accept submits.
 */
export class SubmittingDialog<T> extends Dialog<T> {
  constructor(
    private readonly _submitting: ISubmittingBody<T>,
    options: Omit<Partial<Dialog.IOptions<T>>, 'body'> & { className: string }
  ) {
    const { className, ...rest } = options;
    super({ ...rest, body: _submitting, defaultButton: 1 });
    this.addClass(className);
    _submitting.onReadyChanged = ready => {
      const button = this.node.querySelector<HTMLButtonElement>(
        '.jp-Dialog-button.jp-mod-accept'
      );
      if (button) {
        button.disabled = !ready;
      }
    };
  }

  resolve(index?: number): void {
    if (index === 0) {
      super.resolve(0);
      return;
    }
    void this._submitting.submit().then(accepted => {
      if (accepted) {
        super.resolve(1);
      }
    });
  }
}

/** Show the dialog; the body's value when accepted, else null. */
export async function launchSubmitting<T>(
  dialog: SubmittingDialog<T | null>
): Promise<T | null> {
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
