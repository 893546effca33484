"""`dte scale --predict`: the scaling model's inputs from one short local run, and its table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dte_core.errors import ConfigError

GRADIENT_BYTES = 4  # DDP and ZeRO reduce gradients in the parameters' dtype: fp32 here


def gradient_bytes(science: Any, cfg: Any) -> tuple[int, int]:
    """(trainable parameters, gradient bytes per step) of the science's models."""
    if science.framework != "torch":
        raise ConfigError(f"--predict covers torch sciences; '{science.name}' is "
                          f"{science.framework}.")
    models = science.task(cfg).configure_models()
    count = sum(p.numel() for m in models.values() for p in m.parameters() if p.requires_grad)
    return count, count * GRADIENT_BYTES


def compute_s(epochs: list[dict[str, float]], batch: int) -> float:
    """Seconds per step of one worker: its batch over its median samples/s."""
    import statistics

    return batch / statistics.median(e["train/samples_per_s"] for e in epochs)


def inputs(science: Any, cfg: Any, run: Path | None, step_s: float | None) -> dict[str, Any]:
    """What the model needs: compute per step (measured or given), batch, gradient bytes."""
    from dte_cli import scaling

    params, nbytes = gradient_bytes(science, cfg)
    batch = cfg.train.batch_size
    if step_s is None:
        measured = compute_s(scaling.epochs_of_run_dir(run), batch)
        source = f"measured here, 1 worker ({run})"
    else:
        if step_s <= 0:
            raise ConfigError(f"--step-s {step_s} must be > 0 seconds.")
        measured, source = step_s, "--step-s"
    return {"compute_s": measured, "compute_source": source, "batch": batch,
            "parameters": params, "gradient_bytes": nbytes}


def table(rows: list[dict[str, Any]], title: str) -> None:
    from rich import box
    from rich.table import Table

    from dte_cli.console import out

    shown = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("workers", "nodes", "batch", "step ms", "comm ms", "samples/s",
                   "efficiency"):
        shown.add_column(column, justify="right")
    for r in rows:
        shown.add_row(str(r["workers"]), str(r["nodes"]), str(r["global_batch"]),
                      f"{r['step_s'] * 1e3:.2f}",
                      f"{r['comm_s'] * 1e3:.2f}", f"{r['samples_per_s']:.1f}",
                      f"{r['efficiency']:.0%}")
    out().print(shown)


def run_prediction(science: Any, folder: Path, counts: list[int], strategy: str,
                   interconnect: str | None, intra: str, bandwidth: float | None,
                   latency: float | None, per_node: int | None, step_s: float | None,
                   epochs: int, config: Path | None, sets: list[str], sweep: Any,
                   weak: bool = False, preset: str | None = None) -> None:
    """Measure (unless --step-s), predict every count, write JSON and PNG, print the table."""
    import json

    from dte_core import config as config_layer

    from dte_cli import scaling, scaling_model
    from dte_cli.console import err

    name = strategy.split(",")[0].strip()
    network = scaling_model.link(interconnect, bandwidth, latency)
    inner = scaling_model.link(intra, default=scaling_model.INTRA_DEFAULT)
    per_node = per_node or 4
    if per_node < 1:
        raise ConfigError(f"--per-node {per_node} must be 1 or more.")
    if epochs < 2:
        raise ConfigError("--epochs must be 2 or more: the first epoch is warm-up.")
    cfg = config_layer.resolve(science.Config, config, sets, preset)
    zero = cfg.train.deepspeed.zero_stage if name == "deepspeed" else 0
    scaling_model.traffic_factor(name, zero)  # refuse an unmodelled strategy before the run
    run = None
    if step_s is None:
        on_gpu = _cuda()
        err().print(f"scale --predict: one {epochs}-epoch run on 1 "
                    f"{'GPU' if on_gpu else 'CPU worker'} here for the compute term ...")
        run = sweep(folder, on_gpu).run([("single", 1, False, epochs)])[0]
    given = inputs(science, cfg, run, step_s)
    rows = scaling_model.predict(given["compute_s"], given["gradient_bytes"], given["batch"],
                                 counts, name, per_node, inner, network, zero, weak)
    described = (f"{interconnect or ('given' if bandwidth else scaling_model.NETWORK_DEFAULT)}"
                 f" {network.bandwidth_gbs:g} GB/s, {network.latency_us:g} us between nodes; "
                 f"{intra} within ({per_node} per node)")
    folder.mkdir(parents=True, exist_ok=True)
    report = {"science": science.name, "strategy": name, "zero_stage": zero, **given,
              "scaling": "weak" if weak else "strong",
              "per_node": per_node, "network": vars(network), "intra": vars(inner),
              "rows": rows}
    (folder / "prediction.json").write_text(json.dumps(report, indent=2, default=str))
    table(rows, f"{science.name} {name}: predicted, {'weak' if weak else 'strong'} scaling "
                f"({described}; compute "
                f"{given['compute_s'] * 1e3:.2f} ms/step, {given['parameters']:,} parameters)")
    png = scaling.plot([], folder / "prediction.png",
                       f"{science.name} {name}: predicted scaling", predicted=rows)
    err().print(f"wrote {folder / 'prediction.json'} and {png}")


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
