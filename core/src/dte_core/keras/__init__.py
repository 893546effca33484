"""The TensorFlow (Keras) path of dte_core: the same outward behaviour as the torch engine.

`dte_core.worker.run` hands a science whose `framework` is `"tensorflow"` to
`dte_core.keras.worker.run`, and `dte_core.trained.load` to `dte_core.keras.trained.load`.
Importing this package (and its modules) never imports TensorFlow: that happens inside the
functions that need it, so `dte --help` and torch processes stay free of it.

  task.py        KerasTask: what a TensorFlow science implements (models, optimizers, data, steps)
  strategies.py  tf-single, mirrored, multiworker (registered with dte_core.strategies)
  cluster.py     TF_CONFIG from torchrun or SLURM variables (the one place that builds it)
  data.py        batch plans (same samples per step for any number of replicas) and tf.data
  checkpoint.py  atomic checkpoint folders: .weights.h5, optimizer state, meta.json
  trainer.py     the loop: epochs, validation, checkpoints, signals, tracking
  worker.py      one training process;  trained.py: models of a finished run
"""
