"""`dte data check virgo-gw PATH...`: datasets and strain files as dte reads them."""

from __future__ import annotations


def test_data_check_reports_a_dataset(tiny_dataset, tmp_path, dte):
    result = dte("data", "check", "virgo-gw", str(tiny_dataset), "--map-shape", "16,16",
                 "--aux-channels", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sample rate     1024" in out and "band            16, 256 Hz, Q range 8, 8" in out
    assert "durations       1.0 s per sample, 0.5 s padding" in out
    assert "aux channels    3:" in out and "dte reads         yes" in out


def test_data_check_of_a_dataset_unlike_the_configuration_names_the_keys(tiny_dataset,
                                                                         tmp_path, dte):
    result = dte("data", "check", "virgo-gw", str(tiny_dataset), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sample rate     1024" in result.stdout  # what was found comes first
    assert "--set data.map_shape=16,16" in " ".join(result.stderr.split())


def test_data_check_of_strain_that_is_too_short_for_prepare(gwpy_data, tmp_path, dte):
    strain = gwpy_data / "HLV-HW100916-968654552-1.hdf"
    result = dte("data", "check", "virgo-gw", str(strain), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "H1:LDAS-STRAIN  16384 Hz, GPS 968654552.0 to 968654553.0 (1 s)" in result.stdout
    assert "data.asd_fftlength=4" in " ".join(result.stderr.split())
    ok = dte("data", "check", "virgo-gw", str(strain), "--asd-fftlength", "0.25",
             "--whiten-fduration", "0.25", "--duration", "0.5", "--pad", "0.25",
             "--frequency-range", "32,256", "--q-range", "8,8", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "dte data prepare virgo-gw --from" in ok.stdout


def test_data_check_of_a_file_of_another_kind(tmp_path, dte):
    (tmp_path / "tracks.csv").write_text("SID,ISO_TIME,LAT,LON\n")
    result = dte("data", "check", "virgo-gw", str(tmp_path / "tracks.csv"), cwd=tmp_path)
    assert result.returncode == 2 and "neither a virgo-gw dataset" in result.stderr
