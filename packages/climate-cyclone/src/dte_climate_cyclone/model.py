"""The VGG-like localisation network and its loss (TensorFlow/Keras, imported lazily).

Input: a (P, P, C) patch in physical units; a Standardize layer holds the dataset's mean and
standard deviation per channel as weights, so a checkpoint carries its own normalisation.
Blocks of 3x3 ReLU convolutions and 2x2 max pooling (VGG), then two heads:
  presence  flatten -> fully connected layers -> one logit;
  centre    a 1x1 convolution of the last block's feature map (before its pooling: 10 x 10
            for P=40 and 3 blocks) gives a score per map cell; the centre (row, column) in
            patch cells is the softmax-weighted mean of the map cells' centres (soft-argmax,
            "integral regression"). It localises to a fraction of a map cell and learns much
            faster than regressing coordinates from the fully connected layers.
With the defaults (filters 32-64-128, dense 1024-128, P=40, 4 channels): 3.70M parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _keras():
    from dte_core.keras.runtime import keras

    return keras()


def standardize_layer():
    keras = _keras()

    class Standardize(keras.layers.Layer):
        """(x - mean) / std per channel, with mean and std stored as (frozen) weights."""

        def __init__(self, mean, std, **kwargs):
            super().__init__(**kwargs)
            self._init_mean = np.asarray(mean, np.float32)
            self._init_std = np.asarray(std, np.float32)

        def build(self, input_shape):
            channels = int(input_shape[-1])
            self.mean = self.add_weight(shape=(channels,), name="mean", trainable=False,
                                        initializer=keras.initializers.Constant(self._init_mean))
            self.std = self.add_weight(shape=(channels,), name="std", trainable=False,
                                       initializer=keras.initializers.Constant(self._init_std))

        def call(self, x):
            return (x - keras.ops.cast(self.mean, x.dtype)) / keras.ops.cast(self.std, x.dtype)

        def get_config(self):
            return {**super().get_config(), "mean": self._init_mean.tolist(),
                    "std": self._init_std.tolist()}

    return Standardize


def soft_argmax_layer():
    keras = _keras()

    class SoftArgmax2D(keras.layers.Layer):
        """(batch, n, n, 1) scores -> (batch, 2) expected (row, col) in patch cells. The n map
        positions are spread evenly from the patch's first cell edge to its last (-0.5 to
        patch - 0.5), so a softmax that is never exactly one-hot still reaches the border."""

        def __init__(self, patch: int, **kwargs):
            super().__init__(**kwargs)
            self.patch = patch

        def call(self, scores):
            ops = keras.ops
            n = scores.shape[1]
            centres = np.linspace(-0.5, self.patch - 0.5, n, dtype=np.float32)
            weights = ops.softmax(ops.reshape(ops.cast(scores, "float32"), (-1, n * n)), axis=-1)
            rows = ops.sum(weights * np.repeat(centres, n)[None], axis=-1)
            cols = ops.sum(weights * np.tile(centres, n)[None], axis=-1)
            return ops.stack([rows, cols], axis=-1)

        def get_config(self):
            return {**super().get_config(), "patch": self.patch}

    return SoftArgmax2D


def build(model_cfg: Any, patch: int, channels: int, mean: np.ndarray, std: np.ndarray):
    """The network for `channels` input variables on patch x patch cells."""
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input((patch, patch, channels), name="patch")
    x = standardize_layer()(mean, std, name="standardize")(inputs)
    features = x
    for b, filters in enumerate(model_cfg.filters):
        for c in range(model_cfg.convs_per_block):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                              name=f"block{b + 1}_conv{c + 1}")(x)
        features = x
        x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
    scores = layers.Conv2D(1, 1, name="centre_scores", dtype="float32")(features)
    centre = soft_argmax_layer()(patch, name="centre", dtype="float32")(scores)
    x = layers.Flatten(name="flatten")(x)
    for i, width in enumerate(model_cfg.dense):
        if model_cfg.dropout:
            x = layers.Dropout(model_cfg.dropout, name=f"dropout{i + 1}")(x)
        x = layers.Dense(width, activation="relu", name=f"dense{i + 1}")(x)
    presence = layers.Dense(1, name="presence", dtype="float32")(x)
    outputs = layers.Concatenate(name="outputs", dtype="float32")([presence, centre])
    return keras.Model(inputs, outputs, name="cyclone_vgg")


def loss_and_metrics(y, out, patch: int, centre_weight: float):
    """(loss, metrics) of a batch: presence cross-entropy + weighted centre error on cyclones.

    The centre error is the Huber loss (1 cell) of row and column, summed, averaged over the
    patches that hold a cyclone: linear for large errors, so fine localisation keeps a useful
    gradient. Metrics are batch means (ratios come from their means in validation)."""
    import tensorflow as tf

    from dte_climate_cyclone.validation import batch_metrics

    present = y[:, 0]
    logit = out[:, 0]
    bce = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=present, logits=logit))
    d = out[:, 1:] - y[:, 1:]
    huber = tf.reduce_sum(tf.where(tf.abs(d) < 1.0, 0.5 * d * d, tf.abs(d) - 0.5), axis=1)
    n_pos = tf.reduce_sum(present)
    centre = tf.reduce_sum(present * huber) / tf.maximum(n_pos, 1.0)
    loss = bce + centre_weight * centre
    metrics = {"bce": bce, "centre_huber": centre, **batch_metrics(y, out)}
    return loss, metrics
