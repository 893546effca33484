"""The VGG-like localisation network and its loss (TensorFlow/Keras, imported lazily).

Input: a (P, P, C) patch in physical units; a Standardize layer holds the dataset's mean and
standard deviation per channel as weights, so a checkpoint carries its own normalisation.
Blocks of 3x3 ReLU convolutions and 2x2 max pooling (VGG: 40 -> 20 -> 10 cells for P=40),
then a decoder back to the input resolution (upsampling, the block's features joined, one
3x3 convolution per level; a U-Net without its heavy half) and a 1x1 convolution: one logit
per cell, the centre heat map. Any number of centres, anywhere in the patch, are peaks of it
(heatmap.peaks); a fully convolutional map also stitches across tiles of a whole field.
With the defaults (filters 32-64-128, P=40, 4 channels): 0.43M parameters.
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


def build(model_cfg: Any, patch: int, channels: int, mean: np.ndarray, std: np.ndarray):
    """The network for `channels` input variables on patch x patch cells: (P, P, 1) logits."""
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input((patch, patch, channels), name="patch")
    x = standardize_layer()(mean, std, name="standardize")(inputs)
    skips = []
    last = len(model_cfg.filters) - 1
    for b, filters in enumerate(model_cfg.filters):
        for c in range(model_cfg.convs_per_block):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                              name=f"block{b + 1}_conv{c + 1}")(x)
        if b < last:
            skips.append(x)
            x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
    if model_cfg.dropout:
        x = layers.SpatialDropout2D(model_cfg.dropout, name="dropout")(x)
    for b in range(last - 1, -1, -1):
        x = layers.UpSampling2D(2, name=f"up{b + 1}")(x)
        x = layers.Concatenate(name=f"skip{b + 1}")([x, skips[b]])
        x = layers.Conv2D(model_cfg.filters[b], 3, padding="same", activation="relu",
                          name=f"up{b + 1}_conv")(x)
    heat = layers.Conv2D(1, 1, name="heat", dtype="float32",
                         bias_initializer=keras.initializers.Constant(-4.0))(x)
    return keras.Model(inputs, heat, name="cyclone_heatmap")


def loss_and_metrics(y, out, centre_weight: float, threshold: float,
                     base_threshold: float | None = None, psl=None):
    """(loss, metrics) of a batch: the cell-weighted cross-entropy of the heat map against
    its Gaussian targets (a soft target's minimiser is the target itself, so the predicted
    map keeps the Gaussian shape the peak refinement assumes); cells near a centre weigh
    1 + `centre_weight` x target, cells near a weak centre 0. Metrics: batch means of the
    peak-level scores of the network and, from the same patches, of the min-psl baseline."""
    import tensorflow as tf

    from dte_climate_cyclone.validation import batch_metrics
    from dte_climate_cyclone.validation import logit as to_logit

    heat, weight = y[..., 0], y[..., 1]
    logit = out[..., 0]
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=heat, logits=logit)
    w = weight * (1.0 + centre_weight * heat)
    loss = tf.reduce_sum(w * bce) / tf.maximum(tf.reduce_sum(weight), 1.0)
    metrics = {"bce": tf.reduce_mean(bce),
               **batch_metrics(y, logit, to_logit(threshold), tf.math.log_sigmoid(logit))}
    if base_threshold is not None and psl is not None:
        metrics.update(batch_metrics(y, -psl, -base_threshold, prefix="baseline_"))
    return loss, metrics
