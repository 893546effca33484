"""The synthetic dataset: Virgo noise, witnessed glitches coupled into h(t), binary signals.

One sample is a padded stretch of `duration + 2 * pad` seconds of the main channel and K
auxiliary channels. Every component is drawn in whitened units (unit-variance noise) and
coloured into physical units with its noise curve:

    aux_k  = colour_k(sensor noise_k + sum of glitches d seen by channel k)
    h      = colour_V(noise + sum_k coupling_k(d) + whiten_V(cbc))

so the stored series look like real data, and whitening them (as the maps do) recovers the
parts exactly. Each sample's random stream depends only on (seed, sample index), and the
couplings only on the seed: any number of processes gives the same file.

With data.path null, training, evaluation and prediction use the default dataset, generated
once into .dte/data/virgo-gw/<key> (key: the settings that shape the samples) through
dte_core.datacache, so processes that ask for it at once generate it once.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dte_virgo_gw import cbc, glitches, noise
from dte_virgo_gw.qtransform import MapSpec, channel_map, part_map

GPS_EPOCH = 1_400_000_000.0  # start of the first synthetic sample (a 2024 GPS time)
GENERATOR_VERSION = 1  # bump when the physics changes: cached datasets are keyed by it


@dataclass(frozen=True)
class Plan:
    """Everything every sample shares: configuration, noise curves, the detector's couplings."""

    data: Any  # DataConfig
    spec: MapSpec
    n: int  # points per padded series
    main_psd: np.ndarray
    aux_psd: np.ndarray  # (K, frequencies)
    couplings: tuple[glitches.Coupling, ...]
    psd_source: str

    @property
    def aux_names(self) -> list[str]:
        data = self.data
        if data.aux:
            return list(data.aux)
        kinds = glitches.CHANNEL_KINDS
        return [f"V1:SIM-{kinds[k % len(kinds)]}_{k}" for k in range(data.aux_channels)]


def make_plan(data) -> Plan:
    """The shared state of a dataset generated with `data` (a DataConfig)."""
    from dte_core.errors import ConfigError

    if data.aux and len(data.aux) != data.aux_channels:
        raise ConfigError(f"data.aux names {len(data.aux)} channel(s) but data.aux_channels="
                          f"{data.aux_channels}; give one name per channel, or none.")
    fs = float(data.sample_rate)
    n = int(round((data.duration + 2 * data.pad) * fs))
    freqs = noise.rfft_frequencies(n, fs)
    main_psd, source = noise.main_psd(data, freqs)
    lo, hi = data.frequency_range
    band = (freqs >= lo) & (freqs <= hi)
    if not np.all(main_psd[band] > 0):
        uncovered = freqs[band][main_psd[band] <= 0]
        raise ConfigError(
            f"The main-channel noise curve ({source}) is zero or undefined at "
            f"{uncovered.min():.1f}-{uncovered.max():.1f} Hz, inside data.frequency_range "
            f"{tuple(data.frequency_range)}: the maps there would be empty. Give an ASD that "
            f"covers the band, or narrow data.frequency_range.")
    rng = np.random.default_rng(np.random.SeedSequence(data.seed, spawn_key=(1,)))
    coupling = glitches.couplings(rng, data.aux_channels, fs, tuple(data.frequency_range),
                                  tuple(data.coupling_gain), data.nonlinearity)
    aux_psd = np.stack([noise.sensor_psd(freqs, c.sensor_corner, c.sensor_level)
                        for c in coupling])
    return Plan(data, MapSpec.from_config(data), n, main_psd, aux_psd, tuple(coupling), source)


def series(plan: Plan, index: int) -> dict[str, Any]:
    """Sample `index`'s series: the main channel's parts (physical units), the auxiliary
    channels, and what was injected; no maps."""
    data, spec, n = plan.data, plan.spec, plan.n
    fs = spec.sample_rate
    rng = np.random.default_rng(np.random.SeedSequence(data.seed, spawn_key=(2, index)))
    t = np.arange(n) / fs
    k_count = data.aux_channels
    lo, hi = data.pad + 0.1 * data.duration, data.pad + 0.9 * data.duration
    f_top = min(data.frequency_range[1], 0.45 * fs)

    main_noise = noise.white_noise(rng, n)
    aux_white = np.stack([noise.white_noise(rng, n) for _ in range(k_count)])
    coupled = np.zeros(n)
    events = []
    for _ in range(int(rng.poisson(data.glitch_rate))):
        channel = int(rng.integers(k_count))
        morphology = str(rng.choice(data.morphologies))
        snr = float(np.exp(rng.uniform(*np.log(data.glitch_snr))))
        t0 = float(rng.uniform(lo, hi))
        d, f0 = glitches.waveform(morphology, rng, t, t0, fs, f_top, snr)
        aux_white[channel] += d
        part = plan.couplings[channel].apply(d, fs)
        coupled += part
        in_band = noise.whiten(noise.colour(part, plan.main_psd, fs), plan.main_psd, fs)
        events.append((index, channel, morphology, t0, f0, snr,
                       float(np.sqrt(np.sum(in_band ** 2)))))

    injection = None
    cbc_strain = np.zeros(n)
    if rng.random() < data.cbc_fraction:
        injection = cbc.draw(rng, tuple(data.cbc_mass), tuple(data.cbc_snr),
                             (data.pad + 0.3 * data.duration, data.pad + 0.9 * data.duration))
        strain, merger = cbc.imrphenomd(
            injection.m1, injection.m2, injection.chi1, injection.chi2,
            inclination=float(np.arccos(rng.uniform(-1, 1))),
            polarization=float(rng.uniform(0, np.pi)), phase=float(rng.uniform(0, 2 * np.pi)),
            fs=fs)
        placed = cbc.place(strain, merger, n, int(round(injection.merger * fs)))
        optimal = float(np.sqrt(np.sum(noise.whiten(placed, plan.main_psd, fs) ** 2)))
        cbc_strain = placed * (injection.snr / optimal) if optimal > 0 else placed

    noise_strain = noise.colour(main_noise, plan.main_psd, fs)
    glitch_strain = noise.colour(coupled, plan.main_psd, fs)
    aux = np.stack([noise.colour(aux_white[k], plan.aux_psd[k], fs) for k in range(k_count)])
    return {"noise": noise_strain, "glitch": glitch_strain, "cbc": cbc_strain, "aux": aux,
            "injection": injection, "events": events}


def sample(plan: Plan, index: int) -> dict[str, Any]:
    """Sample `index`: stored series, maps, truth maps and what was injected."""
    spec, fs, k_count = plan.spec, plan.spec.sample_rate, plan.data.aux_channels
    parts = series(plan, index)
    noise_strain, glitch_strain, cbc_strain, aux = (parts[k] for k in ("noise", "glitch", "cbc",
                                                                       "aux"))
    main = noise_strain + glitch_strain + cbc_strain

    def white(x):
        return noise.whiten(x, plan.main_psd, fs)

    main_map, scale, q_main = channel_map(white(main), spec)
    aux_maps, qs = [], [q_main]
    for k in range(k_count):
        m, _, q = channel_map(noise.whiten(aux[k], plan.aux_psd[k], fs), spec)
        aux_maps.append(m)
        qs.append(q)
    return {
        "main": main.astype(np.float32), "aux": aux.astype(np.float32),
        "main_map": main_map, "aux_maps": np.stack(aux_maps), "q": np.array(qs, np.float32),
        "glitch_map": part_map(white(glitch_strain), spec, scale, q_main),
        "cbc_map": part_map(white(cbc_strain), spec, scale, q_main),
        "noise_map": part_map(white(noise_strain), spec, scale, q_main),
        "gps_start": GPS_EPOCH + index * plan.n / fs, "injection": parts["injection"],
        "events": parts["events"],
    }


_PLAN: Plan | None = None


def _init(data) -> None:
    global _PLAN
    _PLAN = make_plan(data)


def _work(index: int) -> dict[str, Any]:
    assert _PLAN is not None
    return sample(_PLAN, index)


def generate(data, out: Path, progress: bool = True) -> dict[str, Any]:
    """Write `data.samples` samples into `out`/virgo-gw.h5; returns a summary."""
    from dte_virgo_gw.data import FILE, Writer
    from dte_virgo_gw.parallel import ordered_map, with_progress, worker_count

    start = time.perf_counter()
    plan = make_plan(data)  # fails fast on a bad PSD before any process starts
    workers = worker_count(data.workers, data.samples)
    attrs = {"kind": "generated", "generator_version": GENERATOR_VERSION, "seed": data.seed,
             "psd_source": plan.psd_source, "gps_epoch": GPS_EPOCH,
             "generator": data.model_dump(mode="json", exclude={"path", "workers"}),
             "couplings": [vars(c) for c in plan.couplings]}
    file = out / FILE
    writer = Writer(file, data.samples, plan.aux_names, data.main, plan.spec, plan.n,
                    truth=True, attrs=attrs)
    events: list[tuple] = []
    injections: list[Any] = []
    ok = False
    try:
        results = ordered_map(_work, data.samples, workers, _init, (data,))
        if progress:
            results = with_progress(results, data.samples,
                                    f"generating virgo-gw ({workers} process(es))")
        for i, item in enumerate(results):
            writer.write(i, item)
            events.extend(item["events"])
            injections.append(item["injection"])
        _write_tables(writer, events, injections)
        ok = True
    finally:
        writer.close(complete=ok)
    seconds = time.perf_counter() - start
    morphs = [e[2] for e in events]
    return {"file": FILE, "samples": data.samples, "aux_channels": data.aux_channels,
            "glitches": {m: morphs.count(m) for m in data.morphologies},
            "cbc_injections": sum(i is not None for i in injections),
            "noise": plan.psd_source, "workers": workers, "seconds": round(seconds, 2),
            "samples_per_s": round(data.samples / seconds, 2),
            "size_mb": round(file.stat().st_size / 2**20, 1)}


def _write_tables(writer, events: list[tuple], injections: list[Any]) -> None:
    columns = ["sample", "channel", "morphology", "time", "frequency", "snr_aux", "snr_main"]
    rows = list(zip(*events, strict=True)) if events else [[] for _ in columns]
    table = dict(zip(columns, rows, strict=True))
    writer.table("glitches", {
        "sample": np.asarray(table["sample"], np.int64),
        "channel": np.asarray(table["channel"], np.int64),
        "morphology": np.asarray(table["morphology"], "S16"),
        **{c: np.asarray(table[c], np.float64) for c in columns[3:]}})
    has = np.array([i is not None for i in injections])

    def col(name):
        return np.array([getattr(i, name) if i is not None else np.nan for i in injections])

    writer.table("samples", {"has_cbc": has, "n_glitches": np.bincount(
        np.asarray(table["sample"], np.int64), minlength=len(injections)),
        **{f"cbc_{name}": col(name) for name in ("m1", "m2", "chi1", "chi2", "merger",
                                                 "snr")}})


#: DataConfig keys that do not change the generated samples
NOT_IN_KEY = {"path", "workers", "val_fraction", "main", "stride", "asd_fftlength",
              "whiten_fduration", "skip_nonfinite"}


def fingerprint(data) -> dict[str, Any]:
    """Everything that shapes a generated dataset (a measured ASD by its content)."""
    settings = data.model_dump(mode="json", exclude=NOT_IN_KEY)
    settings["generator_version"] = GENERATOR_VERSION
    if data.asd_file is not None and Path(data.asd_file).is_file():
        settings["asd_file"] = hashlib.sha256(Path(data.asd_file).read_bytes()).hexdigest()
    return settings


def key(data) -> str:
    """Short hash of `fingerprint(data)`: the folder name of the default dataset."""
    text = json.dumps(fingerprint(data), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def dataset_for(config) -> Path:
    """The dataset file to train on: data.path, else the generated default (made if needed)."""
    from dte_virgo_gw.data import dataset_file

    if config.data.path is not None:
        return dataset_file(Path(config.data.path))
    return default_dataset(config.data)


def default_dataset(data) -> Path:
    """.dte/data/virgo-gw/<key>/virgo-gw.h5, generated when missing."""
    from dte_core import paths
    from dte_core.datacache import dataset
    from dte_core.env import detect

    from dte_virgo_gw.data import FILE

    target = paths.state_dir() / "data" / "virgo-gw" / key(data)
    if (target / FILE).is_file():
        if detect().is_global_zero:
            _say(f"virgo-gw: data.path is null, using the generated dataset {target}")
        return target / FILE

    def build(tmp: Path) -> dict[str, Any]:
        _say(f"virgo-gw: data.path is null, generating {data.samples} samples into {target} "
             f"(reused by later runs with the same data settings)")
        summary = generate(data, tmp)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        _say(f"virgo-gw: generated {summary['samples']} samples in {summary['seconds']} s "
             f"({summary['samples_per_s']} samples/s, {summary['workers']} process(es))")
        return summary

    dataset(target, build, fingerprint(data), label="virgo-gw")
    return target / FILE


def _say(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(message)
