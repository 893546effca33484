"""Console output without a terminal: validation lines show the key metrics beside their
baselines and nothing else; long work prints a line per unit of work."""

from __future__ import annotations

from dte_core.progress import bar
from dte_core.tracking.console import ConsoleSink


def test_validation_line_shows_only_key_metrics_with_baselines(capsys):
    sink = ConsoleSink("virgo-gw r1", interactive=False,
                       key_metrics=("val/glitch_removed_db", "val/cbc_kept"))
    sink.log({"val/l1": 0.3, "val/glitch_removed_db": 4.25, "val/baseline_glitch_removed_db":
              1.5, "val/cbc_kept": 0.97, "val/mse": 0.1}, step=10, epoch=2)
    line = capsys.readouterr().err.strip()
    assert line == ("epoch 2  step 10/0  val/glitch_removed_db 4.25 (baseline 1.5)  "
                    "val/cbc_kept 0.97")


def test_without_key_metrics_every_validation_metric_shows(capsys):
    ConsoleSink("toy r1", interactive=False).log({"val/a": 1.0, "val/b": 2.0}, 5, 1)
    assert "val/a 1  val/b 2" in capsys.readouterr().err


def test_progress_prints_a_line_per_unit_where_it_cannot_render_live(capsys):
    with bar("generating toy") as progress:
        task = progress.add_task("samples", total=3)
        for _ in range(3):
            progress.advance(task)
        progress.update(task, completed=3)  # no move: no line
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["generating toy samples: 1/3", "generating toy samples: 2/3",
                     "generating toy samples: 3/3"]
