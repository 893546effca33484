"""The scaling model's formulas: ring all-reduce, strategy traffic, nodes, efficiency."""

from __future__ import annotations

import pytest
from dte_cli import scaling_model as m
from dte_core.errors import ConfigError

FAST = m.Link(100.0, 1.0)  # 100 GB/s, 1 us
SLOW = m.Link(10.0, 10.0)


def test_ring_allreduce_is_latency_plus_two_p_minus_one_over_p_bytes():
    nbytes = 1e9
    assert m.ring_allreduce_s(1, nbytes, FAST) == 0.0
    # p = 4: 2*3 latencies of 1 us, 2*3/4 of 1 GB at 100 GB/s
    assert m.ring_allreduce_s(4, nbytes, FAST) == pytest.approx(6e-6 + 1.5 * 0.01)
    # the bandwidth term tends to 2 * bytes / beta for large rings
    assert m.ring_allreduce_s(1000, nbytes, m.Link(100.0, 0.0)) == pytest.approx(
        2 * 0.01 * 999 / 1000)


def test_a_ring_beyond_one_node_runs_at_the_network_speed():
    inside = m.comm_s(4, 1e8, "ddp", 4, FAST, SLOW)
    across = m.comm_s(8, 1e8, "ddp", 4, FAST, SLOW)
    assert inside == pytest.approx(m.ring_allreduce_s(4, 1e8, FAST))
    assert across == pytest.approx(m.ring_allreduce_s(8, 1e8, SLOW))


def test_zero3_moves_half_again_the_bytes_of_an_allreduce():
    ddp = m.comm_s(16, 1e8, "ddp", 4, FAST, SLOW)
    assert m.comm_s(16, 1e8, "deepspeed", 4, FAST, SLOW, zero_stage=2) == pytest.approx(ddp)
    assert m.comm_s(16, 1e8, "deepspeed", 4, FAST, SLOW, zero_stage=3) == pytest.approx(
        1.5 * ddp)
    with pytest.raises(ConfigError, match="No communication model for strategy 'pipe'"):
        m.traffic_factor("pipe")


def test_weak_scaling_keeps_each_workers_batch_and_adds_communication():
    rows = m.predict(0.1, 4e8, 32, [1, 4, 8], "ddp", 4, FAST, SLOW, weak=True)
    one, four, eight = rows
    assert one["step_s"] == 0.1 and one["efficiency"] == 1.0
    assert four["nodes"] == 1 and eight["nodes"] == 2
    assert eight["step_s"] == pytest.approx(0.1 + m.ring_allreduce_s(8, 4e8, SLOW))
    assert eight["efficiency"] == pytest.approx(0.1 / eight["step_s"])
    assert eight["samples_per_s"] == pytest.approx(8 * 32 / eight["step_s"])
    assert one["efficiency"] > four["efficiency"] > eight["efficiency"]


def test_strong_scaling_shares_the_global_batch():
    one, eight = m.predict(0.1, 4e8, 32, [1, 8], "ddp", 4, FAST, SLOW)
    comm = m.ring_allreduce_s(8, 4e8, SLOW)
    assert eight["global_batch"] == one["global_batch"] == 32
    assert eight["step_s"] == pytest.approx(0.1 / 8 + comm)
    # efficiency is the speed-up over one worker, divided by the workers
    assert eight["efficiency"] == pytest.approx(
        eight["samples_per_s"] / one["samples_per_s"] / 8)
    with pytest.raises(ConfigError, match="train.batch_size 32 is the global batch.*--weak"):
        m.predict(0.1, 4e8, 32, [64], "ddp", 4, FAST, SLOW)


def test_links_by_name_or_figures_and_their_errors():
    assert m.link("ib-ndr").bandwidth_gbs == 50.0
    assert m.link() == m.INTERCONNECTS[m.NETWORK_DEFAULT]
    assert m.link(None, 12.0, 3.0) == m.Link(12.0, 3.0)
    assert all(entry.source and entry.bandwidth_gbs > 0 for entry in m.INTERCONNECTS.values())
    with pytest.raises(ConfigError, match="Unknown interconnect 'warp'.*ib-hdr"):
        m.link("warp")
    with pytest.raises(ConfigError, match="go together"):
        m.link(None, 12.0, None)
    with pytest.raises(ConfigError, match="exclude each other"):
        m.link("ib-hdr", 12.0, 3.0)


def test_the_scaling_figure_has_a_tick_per_count_an_ideal_line_and_a_title():
    from dte_cli import scaling

    rows = [{"strategy": "ddp", "workers": w, "samples_per_s": s}
            for w, s in ((1, 100.0), (2, 180.0), (4, 300.0))]
    scaling.relative(rows)
    predicted = m.predict(0.01, 1e6, 64, [8, 16], "ddp", 4, FAST, SLOW)
    drawn = scaling.figure(rows, "toy: sweep", predicted)
    left, right = drawn.axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["1", "2", "4", "8", "16"]
    ideal = next(line for line in left.get_lines() if line.get_label() == "ideal")
    assert list(ideal.get_ydata()) == [100.0, 200.0, 400.0, 800.0, 1600.0]
    assert "ddp (predicted)" in [line.get_label() for line in right.get_lines()]
    assert drawn.texts[0].get_text() == "toy: sweep"
