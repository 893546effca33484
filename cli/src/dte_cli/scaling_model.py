"""Predicted step time, throughput and parallel efficiency at world sizes not yet measured.

Data parallelism: one worker computes a step of `batch` samples in `compute_s` (measured).
dte's `train.batch_size` is global, so by default p workers share it (strong scaling) and each
computes its batch / p in compute_s / p; with `weak` each keeps the whole batch (the global
batch grows p-fold). Then the strategy's collectives move the gradient bytes. A ring
all-reduce over p workers costs (Thakur, Rabenseifner & Gropp 2005)

    t_ring(p) = 2 (p - 1) alpha + 2 (p - 1) / p * bytes / beta

with alpha the per-message latency and beta the per-worker link bandwidth. A ring that spans
nodes is as slow as its slowest hop, so beyond `per_node` workers alpha and beta are the
inter-node network's. ZeRO stages 1-2 (reduce-scatter of gradients, all-gather of updated
parameters) move the same bytes as an all-reduce; stage 3 also gathers parameters for the
backward pass: 1.5 times as many (Rajbhandari et al. 2020, section 7). Then

    t_step(p) = c(p) + t_comm(p),  c(p) = compute_s / p (strong) or compute_s (weak)
    throughput(p) = global_batch(p) / t_step(p)
    efficiency(p) = throughput(p) / (p * throughput(1)) = c(p) / t_step(p)

Ignored: overlap of the backward pass with communication (makes this an upper bound on step
time), stragglers and jitter, data loading and I/O, contention with other jobs on shared
links, NCCL's tree and hierarchical algorithms, optimizer-state traffic beyond the above,
per-step framework overhead, and a device that computes a small batch less efficiently than a
large one (compute is taken as proportional to the samples per worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dte_core.errors import ConfigError


@dataclass(frozen=True)
class Link:
    """A link's nominal bandwidth per worker, one direction (GB/s), and latency (us)."""

    bandwidth_gbs: float
    latency_us: float
    source: str = "given"


# Nominal per-GPU figures (one direction; one NIC per GPU for networks, as on JUWELS Booster,
# Leonardo and Perlmutter). Latencies are typical small-message figures, not data-sheet ones.
INTERCONNECTS: dict[str, Link] = {
    "nvlink3": Link(300.0, 3.0, "NVIDIA A100 data sheet: 600 GB/s bidirectional NVLink per GPU"),
    "nvlink4": Link(450.0, 3.0, "NVIDIA H100 SXM data sheet: 900 GB/s bidirectional NVLink"),
    "pcie4": Link(32.0, 5.0, "PCI-SIG PCIe 4.0 x16: 16 GT/s x 16 lanes, ~32 GB/s each way"),
    "pcie5": Link(64.0, 5.0, "PCI-SIG PCIe 5.0 x16: 32 GT/s x 16 lanes, ~64 GB/s each way"),
    "ib-hdr": Link(25.0, 2.0, "InfiniBand HDR (NVIDIA ConnectX-6): 200 Gb/s per port"),
    "ib-ndr": Link(50.0, 2.0, "InfiniBand NDR (NVIDIA ConnectX-7): 400 Gb/s per port"),
    "slingshot11": Link(25.0, 2.5, "HPE Slingshot-11 (Cassini NIC): 200 Gb/s per NIC"),
    "100gbe": Link(12.5, 10.0, "IEEE 802.3 100 Gb Ethernet, RoCE/TCP latency"),
    "25gbe": Link(3.125, 20.0, "IEEE 802.3 25 Gb Ethernet, TCP latency"),
}
INTRA_DEFAULT = "nvlink3"
NETWORK_DEFAULT = "ib-hdr"
# Bytes moved per worker per step, as multiples of the ring all-reduce's 2 (p - 1) / p * bytes.
TRAFFIC = {"ddp": 1.0, "horovod": 1.0, "deepspeed": 1.0, "deepspeed-zero3": 1.5}


def link(name: str | None = None, bandwidth_gbs: float | None = None,
         latency_us: float | None = None, default: str = NETWORK_DEFAULT) -> Link:
    """A named interconnect, or one from a bandwidth and a latency (both, or neither)."""
    if (bandwidth_gbs is None) != (latency_us is None):
        raise ConfigError("--bandwidth and --latency go together: give both (GB/s and us), "
                          "or --interconnect NAME.")
    if bandwidth_gbs is not None:
        if name is not None:
            raise ConfigError("--interconnect and --bandwidth/--latency exclude each other: "
                              "give a name or the two figures.")
        if bandwidth_gbs <= 0 or latency_us < 0:
            raise ConfigError(f"--bandwidth {bandwidth_gbs} must be > 0 GB/s and --latency "
                              f"{latency_us} >= 0 us.")
        return Link(bandwidth_gbs, latency_us)
    chosen = name or default
    if chosen not in INTERCONNECTS:
        raise ConfigError(f"Unknown interconnect {chosen!r}: use one of "
                          f"{', '.join(INTERCONNECTS)}, or --bandwidth GB/s --latency us.")
    return INTERCONNECTS[chosen]


def ring_allreduce_s(workers: int, nbytes: float, through: Link) -> float:
    """Seconds for a ring all-reduce of `nbytes` over `workers` workers on `through`."""
    if workers <= 1:
        return 0.0
    return (2 * (workers - 1) * through.latency_us * 1e-6
            + 2 * (workers - 1) / workers * nbytes / (through.bandwidth_gbs * 1e9))


def traffic_factor(strategy: str, zero_stage: int = 2) -> float:
    """The strategy's bytes per step against one ring all-reduce of the gradients."""
    key = "deepspeed-zero3" if strategy == "deepspeed" and zero_stage == 3 else strategy
    if key not in TRAFFIC:
        raise ConfigError(f"No communication model for strategy {strategy!r}: use one of "
                          f"ddp, deepspeed, horovod.")
    return TRAFFIC[key]


def comm_s(workers: int, nbytes: float, strategy: str, per_node: int, intra: Link,
           network: Link, zero_stage: int = 2) -> float:
    """Seconds of gradient communication per step for `workers` workers."""
    through = intra if workers <= per_node else network
    return traffic_factor(strategy, zero_stage) * ring_allreduce_s(workers, nbytes, through)


def predict(compute_s: float, nbytes: float, batch: int, workers: list[int], strategy: str,
            per_node: int, intra: Link, network: Link, zero_stage: int = 2,
            weak: bool = False) -> list[dict[str, Any]]:
    """One row per world size: step, compute and communication seconds, global batch,
    throughput and efficiency against one worker."""
    if compute_s <= 0:
        raise ConfigError(f"The compute time per step must be > 0 s, not {compute_s}.")
    if not weak and max(workers) > batch:
        raise ConfigError(f"train.batch_size {batch} is the global batch: {max(workers)} "
                          f"workers would get less than one sample each. Raise it (--set "
                          f"train.batch_size={batch * max(workers)}) or predict with --weak "
                          f"(each worker keeps {batch} samples).")
    rows = []
    for p in workers:
        comm = comm_s(p, nbytes, strategy, per_node, intra, network, zero_stage)
        compute = compute_s if weak else compute_s / p
        step = compute + comm
        global_batch = batch * p if weak else batch
        rows.append({"strategy": strategy, "workers": p, "nodes": -(-p // per_node),
                     "compute_s": compute, "comm_s": comm, "step_s": step,
                     "global_batch": global_batch, "samples_per_s": global_batch / step,
                     "efficiency": compute / step})
    return rows
