"""Values that reach a batch script or an ssh/sh command line: one line each, ssh targets
checked and after `--`, job ids digits only."""

from __future__ import annotations

import pytest
from clean_error import assert_clean_error
from dte_cli.backends.hosts import Host
from dte_cli.backends.request import SlurmOptions
from dte_cli.backends.sites import ContainerProfile, SiteProfile
from dte_cli.backends.slurm import build
from dte_core.errors import ConfigError

CONTROLS = ["\n", "\r", "\x00", "\x1b", "\x7f"]


def _build(profile=None, **options):
    opts = SlurmOptions(**{"time": "30:00", **options})
    return build(profile or SiteProfile(python="python3"), opts, job_name="dte-toy",
                 run_dirs=["/r/toy/1"], layout="torchrun")


@pytest.mark.parametrize("char", CONTROLS)
@pytest.mark.parametrize(("key", "value"), [
    ("job_name", "x{c}echo pwned"), ("partition", "gpu{c}echo pwned"),
    ("account", "p{c}#SBATCH --x"), ("qos", "q{c}"), ("constraint", "a{c}b"), ("mem", "4G{c}"),
    ("container", "/i.sif{c}id"), ("env", ["A=1{c}id"]), ("setup", ["source a{c}id"]),
    ("time", "30:00{c}id"), ("site", "s{c}")])
def test_control_characters_in_options_are_refused_naming_the_flag(key, value, char):
    value = [v.format(c=char) for v in value] if isinstance(value, list) else \
        value.format(c=char)
    flag = "--" + key.replace("_", "-")
    with pytest.raises(ConfigError, match=f"^{flag} .*control character"):
        _build(**{key: value})


@pytest.mark.parametrize(("update", "key"), [
    ({"partition": "gpu\necho pwned"}, "`partition`"), ({"account": "a\rb"}, "`account`"),
    ({"modules": ["cuda\nid"]}, "`modules`"), ({"env": {"X": "1\nid"}}, "`env.X`"),
    ({"env": {"X\nid": "1"}}, "`env.X\nid`"), ({"python": "py\x00"}, "`python`"),
    ({"container": ContainerProfile(image="i", binds=["/a\nid"])}, "`container.binds`"),
    ({"ssh_options": ["-p\n22"]}, "`ssh_options`")])
def test_control_characters_in_a_site_profile_are_refused_naming_the_key(update, key):
    site = SiteProfile(name="hpc", python="python3").model_copy(update=update)
    with pytest.raises(ConfigError, match="site profile 'hpc' key " + key.replace("\n", "\\n")):
        _build(site)


@pytest.mark.parametrize("target", ["-oProxyCommand=touch x", "-Fevil", "a b", "a;b",
                                    "user@-host", "host\n", "@host", "a@b@c", "$(id)"])
def test_bad_ssh_targets_are_refused(target):
    with pytest.raises(ConfigError, match="not an ssh destination|control character"):
        Host(target)
    with pytest.raises(ConfigError):
        _build(remote=target)


@pytest.mark.parametrize("target", ["login.hpc.example.org", "me@login1", "alias_2",
                                    "u.name@10.0.0.1", "me@[::1]"])
def test_ssh_target_comes_after_double_dash(target):
    argv = Host(target, ["-p", "2222"]).argv(["squeue", "-j", "1"])
    assert argv[:6] == ["ssh", "-o", "BatchMode=yes", "-p", "2222", "--"]
    assert argv[6] == target and argv[7] == "squeue -j 1"


def test_cli_refuses_a_newline_in_job_name_and_in_a_site_profile(dte, tmp_path):
    (tmp_path / "dte.toml").write_text('[sites.evil]\npartition = "gpu\\necho pwned"\n')
    common = ("--backend", "slurm", "--dry-run")
    assert_clean_error(dte("train", "toy", *common, "--job-name", "x\necho pwned",
                           cwd=tmp_path), "--job-name", "control character")
    assert_clean_error(dte("train", "toy", *common, "--site", "evil", cwd=tmp_path),
                       "site profile 'evil' key `partition`", "control character")
    assert_clean_error(dte("train", "toy", *common, "--remote", "-oProxyCommand=touch pwned",
                           cwd=tmp_path), "not an ssh destination")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dte.toml"]


@pytest.mark.parametrize("job_id", ["1;touch pwned", "$(touch pwned)", "1 2", "1_", "1_x"])
def test_jobs_refuse_what_is_not_a_job_id(dte, tmp_path, job_id):
    assert_clean_error(dte("jobs", "logs", job_id, cwd=tmp_path), "is not a SLURM job id")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("flag", ["nodes", "array", "cpus_per_task"])
def test_zero_counts_are_given_not_ignored(flag):
    opts = SlurmOptions(**{flag: 0})
    assert opts.given() == ["--" + flag.replace("_", "-")]
    assert opts.argv() == ["--" + flag.replace("_", "-"), "0"]


def test_zero_cpus_per_task_is_refused_even_over_a_site_default():
    with pytest.raises(ConfigError, match="--cpus-per-task 0 must be 1 or more"):
        _build(SiteProfile(python="python3", cpus_per_task=4), cpus_per_task=0)


def test_local_runs_refuse_zero_slurm_counts_and_absurd_procs(dte, tmp_path):
    assert_clean_error(dte("train", "toy", "--nodes", "0", "--dry-run", cwd=tmp_path),
                       "--nodes only applies to batch jobs")
    assert_clean_error(dte("train", "toy", "--procs", "100000", "--dry-run", cwd=tmp_path),
                       "--procs 100000 is more worker processes than this host can run")
    assert list(tmp_path.iterdir()) == []


def test_a_mistyped_command_gets_a_suggestion(dte):
    result = dte("trian", "toy")
    assert result.returncode == 2 and "Did you mean 'train'?" in result.stderr
