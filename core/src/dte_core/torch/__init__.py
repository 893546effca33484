"""The PyTorch engine of dte_core: everything that imports torch lives in this package.

Importing the package (and its modules) never imports torch: that happens inside the
functions that need it, so `dte --help` and TensorFlow processes stay free of it.

  engine.py      TorchEngine: the Engine interface (fit a run, trained models, weights, launch)
  task.py        Task: what a torch science implements (models, optimizers, data, steps)
  step.py        StepContext: backward, accumulation, clipping, scaling inside a step
  precision.py   autocast and the grad scaler
  trainer.py     the shared epoch loop (dte_core.loop) with torch steps and collectives
  checkpoint.py  state.pt and per-rank random states in dte_core.checkpoint's folders
  torchrun.py    the one place that runs torch.distributed.run (torchrun)
  strategies/    single, ddp, deepspeed, horovod (registered with dte_core.strategies)
"""
