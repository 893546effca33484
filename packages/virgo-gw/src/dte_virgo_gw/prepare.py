"""Real strain and auxiliary channels -> the native dataset (`dte data prepare virgo-gw`).

Steps: read the requested channels from every file; refuse empty, corrupt, non-finite or
inconsistent data with a clear message; join each channel's pieces into contiguous stretches
and keep the spans every channel covers; per stretch and channel, resample to
data.sample_rate, band-pass around data.frequency_range, whiten with a Welch ASD of the stretch
(gwpy) and drop the whitening filter's edges; cut samples of duration + 2 pad seconds every
`stride` seconds and Q-transform them. Real data has no truth maps: a prepared dataset trains
and reports reconstruction errors, not glitch power removed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from dte_core.errors import ConfigError

from dte_virgo_gw.config import q_window
from dte_virgo_gw.qtransform import MapSpec, channel_map
from dte_virgo_gw.sources import Piece, read


@dataclass
class Stretch:
    """A span that every channel covers, with each channel's raw samples."""

    start: float
    end: float
    channels: dict[str, Piece]


def _finite_parts(piece: Piece, skip: bool) -> list[Piece]:
    """The piece itself, or (with skip) its finite runs; an error on NaN/inf otherwise."""
    bad = ~np.isfinite(piece.values)
    if not bad.any():
        return [piece]
    first = int(np.argmax(bad))
    if not skip:
        raise ConfigError(
            f"The channel {piece.channel} in {piece.source} has {int(bad.sum())} NaN or "
            f"infinite value(s), the first at GPS {piece.t0 + first / piece.sample_rate:.4f}. "
            f"GWOSC marks missing data this way. Add --set data.skip_nonfinite=true to drop "
            f"the stretches around them, or choose files without gaps.")
    parts, edges = [], np.flatnonzero(np.diff(np.concatenate([[1], bad, [1]]).astype(int)))
    for lo, hi in zip(edges[::2], edges[1::2], strict=True):  # runs of good samples
        if hi > lo:
            parts.append(Piece(piece.channel, piece.t0 + lo / piece.sample_rate,
                               piece.sample_rate, piece.values[lo:hi], piece.source))
    return parts


def collect(data, sources: list[Path]) -> dict[str, list[Piece]]:
    """Every piece of the main and auxiliary channels, checked, by channel."""
    if not data.aux:
        raise ConfigError("No auxiliary channel given: name the witnesses with --aux CHANNEL "
                          "(repeatable), and the strain channel with --main CHANNEL.")
    wanted = [data.main, *data.aux]
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"A channel is named twice in --main/--aux ({', '.join(wanted)}); "
                          f"each channel can be used once.")
    pieces: dict[str, list[Piece]] = {c: [] for c in wanted}
    available: set[str] = set()
    for file in sources:
        found, names = read(Path(file), set(wanted))
        available.update(names)
        for piece in found:
            if len(piece.values) == 0:
                raise ConfigError(f"The channel {piece.channel} in {piece.source} is empty "
                                  f"(0 samples).")
            pieces[piece.channel].extend(_finite_parts(piece, data.skip_nonfinite))
    missing = [c for c in wanted if not pieces[c]]
    if missing and any(c not in available for c in missing):
        unknown = [c for c in missing if c not in available]
        raise ConfigError(
            f"Channel(s) {', '.join(unknown)} not found in {', '.join(map(str, sources))}. "
            f"The files have: {', '.join(sorted(available))}. Use those names with --main and "
            f"--aux.")
    if missing:
        raise ConfigError(f"Channel(s) {', '.join(missing)} have no finite data left after "
                          f"dropping NaN/inf values.")
    for channel, items in pieces.items():
        rates = {p.sample_rate for p in items}
        if len(rates) > 1:
            where = ", ".join(f"{p.source.name}: {p.sample_rate:g} Hz" for p in items)
            raise ConfigError(f"The channel {channel} has different sample rates in different "
                              f"files ({where}). Use files of one acquisition setting.")
    return pieces


def check_rates(data, pieces: dict[str, list[Piece]]) -> None:
    """Each channel must resolve the maps' band once resampled: its own Nyquist frequency
    bounds what resampling can recover."""
    top = data.frequency_range[1]
    low = {c: items[0].sample_rate for c, items in pieces.items()
           if items[0].sample_rate / 2 < top}
    if low:
        rates = ", ".join(f"{c} at {r:g} Hz" for c, r in low.items())
        all_rates = ", ".join(f"{c} {items[0].sample_rate:g} Hz" for c, items in pieces.items())
        raise ConfigError(
            f"Sample-rate mismatch: {rates} cannot carry the band up to {top:g} Hz "
            f"(data.frequency_range) that the other channels are mapped over (rates: "
            f"{all_rates}). Lower the upper frequency below {min(low.values()) / 2:g} Hz or "
            f"leave those channels out.")


def _spans(items: list[Piece]) -> list[tuple[float, float]]:
    """Merged [start, end) spans of a channel's pieces."""
    spans: list[list[float]] = []
    tolerance = 0.5 / items[0].sample_rate
    for p in sorted(items, key=lambda p: p.t0):
        if spans and p.t0 <= spans[-1][1] + tolerance:
            spans[-1][1] = max(spans[-1][1], p.end)
        else:
            spans.append([p.t0, p.end])
    return [(a, b) for a, b in spans]


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]):
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if hi > lo:
                out.append((lo, hi))
    return out


def _slice(items: list[Piece], start: float, end: float) -> Piece:
    """One channel's samples on [start, end), joined from its pieces."""
    rate = items[0].sample_rate
    n = int(round((end - start) * rate))
    out = np.full(n, np.nan)
    for p in items:
        lo = int(round((p.t0 - start) * rate))
        a, b = max(lo, 0), min(lo + len(p.values), n)
        if b > a:
            out[a:b] = p.values[a - lo:b - lo]
    return Piece(items[0].channel, start, rate, out, items[0].source)


def stretches(pieces: dict[str, list[Piece]]) -> list[Stretch]:
    """The spans covered by every channel."""
    common = None
    for items in pieces.values():
        spans = _spans(items)
        common = spans if common is None else _intersect(common, spans)
    return [Stretch(lo, hi, {c: _slice(items, lo, hi) for c, items in pieces.items()})
            for lo, hi in common or []]


def condition(piece: Piece, data) -> np.ndarray:
    """Resampled, band-passed, whitened samples of one stretch, edges dropped."""
    import warnings

    from gwpy.timeseries import TimeSeries

    ts = TimeSeries(piece.values, sample_rate=piece.sample_rate, t0=piece.t0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if piece.sample_rate != data.sample_rate:
            ts = ts.resample(data.sample_rate)
        lo, hi = data.frequency_range
        ts = ts.bandpass(0.7 * lo, min(1.2 * hi, 0.45 * data.sample_rate))
        white = ts.whiten(fftlength=data.asd_fftlength, fduration=data.whiten_fduration)
    edge = int(round(data.whiten_fduration / 2 * data.sample_rate))
    return np.asarray(white.value[edge:len(white) - edge], np.float64)


def raw_resampled(piece: Piece, data) -> np.ndarray:
    """The stretch at data.sample_rate (stored as the sample's series), edges dropped."""
    from gwpy.timeseries import TimeSeries

    ts = TimeSeries(piece.values, sample_rate=piece.sample_rate, t0=piece.t0)
    if piece.sample_rate != data.sample_rate:
        ts = ts.resample(data.sample_rate)
    edge = int(round(data.whiten_fduration / 2 * data.sample_rate))
    return np.asarray(ts.value[edge:len(ts) - edge], np.float64)


def plan_samples(data, spans: list[Stretch]) -> list[tuple[int, int]]:
    """(stretch index, first point) of every sample, or a clear error if none fits."""
    fs = data.sample_rate
    length = int(round((data.duration + 2 * data.pad) * fs))
    step = int(round((data.stride or data.duration) * fs))
    usable = []
    out = []
    for i, s in enumerate(spans):
        kept = (s.end - s.start) - data.whiten_fduration  # after the whitening edges
        usable.append(kept)
        if (s.end - s.start) < max(data.asd_fftlength, data.whiten_fduration):
            continue
        points = int(round(kept * fs))
        out.extend((i, first) for first in range(0, points - length + 1, step))
    if not out:
        longest = max((s.end - s.start for s in spans), default=0.0)
        window = q_window(data.q_range[1], data.frequency_range[0])
        need = data.duration + 2 * data.pad + data.whiten_fduration
        raise ConfigError(
            f"No sample fits in the data: the longest stretch that every channel covers is "
            f"{longest:g} s, but one sample needs {need:g} s (data.duration {data.duration:g} "
            f"+ 2 x data.pad {data.pad:g} + data.whiten_fduration {data.whiten_fduration:g}; "
            f"the Q-transform window at {data.frequency_range[0]:g} Hz is {window:.3g} s) and "
            f"the ASD needs data.asd_fftlength={data.asd_fftlength:g} s. Use longer data, or "
            f"shorten those settings (a higher lower frequency allows a shorter duration).")
    return out


_JOBS: list[dict[str, Any]] = []
_SPEC: MapSpec | None = None


def _init(spec: MapSpec, jobs: list[dict[str, Any]]) -> None:
    global _SPEC, _JOBS
    _SPEC, _JOBS = spec, jobs


def _work(i: int) -> dict[str, Any]:
    job = _JOBS[i]
    main_map, _, q = channel_map(job["main_white"], _SPEC)
    aux_maps, qs = [], [q]
    for x in job["aux_white"]:
        m, _, q_aux = channel_map(x, _SPEC)
        aux_maps.append(m)
        qs.append(q_aux)
    return {"main": job["main"], "aux": job["aux"], "main_map": main_map,
            "aux_maps": np.stack(aux_maps), "q": np.array(qs, np.float32),
            "gps_start": job["gps_start"]}


def prepare(data, sources: list[Path], out: Path, progress: bool = True) -> dict[str, Any]:
    """Write the native dataset of the given files into `out`; returns a summary."""
    from dte_virgo_gw.data import FILE, Writer
    from dte_virgo_gw.parallel import ordered_map, with_progress, worker_count

    started = time.perf_counter()
    pieces = collect(data, sources)
    check_rates(data, pieces)
    spans = stretches(pieces)
    if not spans:
        ranges = "; ".join(f"{c}: " + ", ".join(f"{a:.2f}-{b:.2f}" for a, b in _spans(items))
                           for c, items in pieces.items())
        raise ConfigError(f"The channels never overlap in time ({ranges}). Give files that "
                          f"cover the same GPS times.")
    placements = plan_samples(data, spans)
    fs = data.sample_rate
    length = int(round((data.duration + 2 * data.pad) * fs))
    channels = [data.main, *data.aux]
    conditioned: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for i in sorted({i for i, _ in placements}):
        conditioned[i] = {c: (condition(p, data), raw_resampled(p, data))
                          for c, p in spans[i].channels.items()}
    jobs = []
    for i, first in placements:
        parts = conditioned[i]
        cut = slice(first, first + length)
        jobs.append({
            "main_white": parts[data.main][0][cut], "main": parts[data.main][1][cut]
            .astype(np.float32),
            "aux_white": [parts[c][0][cut] for c in data.aux],
            "aux": np.stack([parts[c][1][cut] for c in data.aux]).astype(np.float32),
            "gps_start": spans[i].start + data.whiten_fduration / 2 + first / fs})
    spec = MapSpec.from_config(data)
    attrs = {"kind": "prepared", "sources": [str(s) for s in sources],
             "stretches": [[s.start, s.end] for s in spans],
             "native_sample_rates": {c: pieces[c][0].sample_rate for c in channels},
             "preparation": data.model_dump(mode="json", exclude={"path", "workers"})}
    file = out / FILE
    writer = Writer(file, len(jobs), list(data.aux), data.main, spec, length, truth=False,
                    attrs=attrs)
    workers = worker_count(data.workers, len(jobs))
    ok = False
    try:
        results = ordered_map(_work, len(jobs), workers, _init, (spec, jobs))
        if progress:
            results = with_progress(results, len(jobs), f"preparing virgo-gw ({workers} "
                                                        f"process(es))")
        for n, item in enumerate(results):
            writer.write(n, item)
        ok = True
    finally:
        writer.close(complete=ok)
    seconds = time.perf_counter() - started
    return {"file": FILE, "samples": len(jobs), "main": data.main, "aux": list(data.aux),
            "stretches": len(spans), "seconds": round(seconds, 2),
            "train_with": f"dte train virgo-gw --set data.path=OUT --set "
                          f"data.aux_channels={len(data.aux)} --set data.map_shape="
                          f"{spec.shape[0]},{spec.shape[1]}"}
