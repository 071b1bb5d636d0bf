"""Tables of any size: `Predictor.predict_frame` (fixed schema), a predictor that pickles small and is
built once per process, `nameclf.on_dask.predict` on a real two-process LocalCluster (no in-process
mock: pickling bugs would show), and the CLI's `predict --file T --column C --out O [--workers N]`."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runner import SCRIPT, default_sigint, run, user_env

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import nameclf  # noqa: E402
import nameclf.on_dask  # noqa: E402
from nameclf import tables as frames  # noqa: E402
from nameclf.data import read_names  # noqa: E402
from nameclf.paths import bundled_names_dir  # noqa: E402
from nameclf.predict import LOADS  # noqa: E402

ODD = [None, "", "   ", "ЖЖЖЖ", "x" * 300, "NA", "O'Brien"]


def assert_same_results(result, expected) -> None:
    """Two result tables alike: every column as pandas compares them (floats to 1e-5), and `top`, whose
    text rounds each probability to 4 decimals, by language and to 1e-4 (a name answered in another
    batch can differ in the last bits, which may flip the fourth decimal). `novelty_p` is a rank among
    held-out scores, so those last bits can move it by a step of 1/(held-out names + 1), and `unfamiliar`
    with it where it sits at the level: both to 0.01."""
    flags = ["top", "unfamiliar", "novelty_p"]
    pd.testing.assert_frame_equal(result.drop(columns=flags), expected.drop(columns=flags))
    left_p, right_p = result["novelty_p"].to_numpy(), expected["novelty_p"].to_numpy()
    np.testing.assert_allclose(left_p, right_p, atol=0.01)
    unsure = np.abs(right_p - 0.05) <= 0.01
    same = result["unfamiliar"].fillna(False).to_numpy() == expected["unfamiliar"].fillna(False).to_numpy()
    assert (same | unsure).all() and (result["unfamiliar"].isna() == expected["unfamiliar"].isna()).all()

    def parsed(top) -> list[tuple[str, float]]:
        if top is pd.NA or top is None:
            return []
        return [(part.split(":")[0], float(part.split(":")[1])) for part in top.split(";")]

    for left, right in zip(result["top"].tolist(), expected["top"].tolist()):
        assert [language for language, _ in parsed(left)] == [language for language, _ in parsed(right)]
        np.testing.assert_allclose([p for _, p in parsed(left)], [p for _, p in parsed(right)], atol=1.5e-4)


def label_args(table, out, column: str = "surname") -> list[str]:
    """`nameclf predict`'s arguments to label `column` of `table` into `out`."""
    return ["predict", "--file", str(table), "--column", column, "--out", str(out)]


def sample_names(count: int, seed: int = 0) -> list[str]:
    pool = [name for path in sorted(bundled_names_dir().glob("*.txt")) for name in read_names(path)]
    rng = np.random.default_rng(seed)
    names = [pool[i] for i in rng.integers(0, len(pool), size=count)]
    for position, odd in zip(range(0, count, max(count // len(ODD), 1)), ODD):  # a few with no answer, spread out
        names[position] = odd
    return names


@pytest.fixture(scope="module")
def client():
    cluster = nameclf.on_dask.local_cluster(2)  # a real LocalCluster: two worker processes
    assert cluster.scheduler_info["workers"] and len(cluster.workers) == 2
    with cluster, distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """A few thousand names in a Parquet folder of four files (four partitions), with another column."""
    folder = tmp_path_factory.mktemp("table") / "people"
    folder.mkdir()
    names = sample_names(4000)
    frame = pd.DataFrame({"id": np.arange(len(names)), "surname": pd.array(names, dtype="string")})
    for part in range(4):
        frame.iloc[part * 1000 : (part + 1) * 1000].to_parquet(folder / f"part-{part}.parquet")
    return folder


def test_predict_frame_has_the_fixed_schema_on_the_inputs_index():
    clf = nameclf.load("de-it")
    names = pd.Series(["Tribbiani", None, "", "Müller", "ЖЖЖЖ"], index=[10, 11, 12, 13, 14])
    result = clf.predict_frame(names, probabilities=True)
    expected = frames.meta(clf.languages)
    assert list(result.columns) == list(expected.columns)
    assert result.dtypes.to_dict() == expected.dtypes.to_dict()
    assert list(result.index) == [10, 11, 12, 13, 14]
    assert result["language"].tolist()[0] == "Italian" and result["language"].tolist()[3] == "German"
    assert result["language"].isna().tolist() == [False, True, True, False, True]
    assert result["error"].tolist()[1:3] == ["missing name", "empty name"]
    assert "unknown" in result["error"].tolist()[4]
    probabilities = result[[f"p_{language}" for language in clf.languages]].to_numpy()
    np.testing.assert_allclose(probabilities[[0, 3]].sum(axis=1), 1, atol=1e-5)
    assert result["probability"].iloc[0] == pytest.approx(probabilities[0].max())
    from_arrow = clf.predict_frame(pa.array(["Tribbiani", None]))
    assert from_arrow["language"].tolist()[0] == "Italian" and from_arrow["error"].tolist()[1] == "missing name"


def test_abstentions_in_the_frame_keep_their_probability():
    clf = nameclf.load("all")
    result = clf.predict_frame(pd.Series(["Smith", "Kowalski"]), min_confidence=0.9)
    assert result["abstained"].tolist() == [True, False]
    assert result["language"].isna().tolist() == [True, False] and not result["probability"].isna().any()


def test_a_predictor_pickles_as_config_and_weights_and_is_built_once_per_process():
    clf = nameclf.load("all")
    data = pickle.dumps(clf)
    weights = sum(value.nbytes for value in clf.saved.weights.values())
    assert len(data) < weights + 200_000  # the weights and the config, not the prepared arrays as well
    first, second = pickle.loads(data), pickle.loads(pickle.dumps(clf))
    assert first is second  # the same key: built once, then reused
    assert LOADS[clf.key] == 1
    assert first.predict(["Kowalski"])[0].language == "Polish"


@pytest.mark.slow
def test_dask_predict_on_a_two_process_cluster_equals_in_process(client, table):
    frame = dd.read_parquet(str(table))
    assert frame.npartitions >= 4
    labelled = nameclf.on_dask.predict(frame, "surname", "all", probabilities=True)
    result = labelled.compute()
    local = pd.read_parquet(table)
    expected = nameclf.load("all").predict_frame(local["surname"], probabilities=True)
    assert_same_results(result.drop(columns=["id", "surname"]).reset_index(drop=True), expected.reset_index(drop=True))
    assert result["id"].tolist() == local["id"].tolist()  # row order and input columns kept
    assert labelled.dtypes.to_dict() == result.dtypes.to_dict()  # the meta promised what came
    key = nameclf.load("all").key
    loads = client.run(lambda: dict(__import__("nameclf.predict", fromlist=["LOADS"]).LOADS))
    counts = [worker.get(key, 0) for worker in loads.values()]
    # each worker that got partitions built the model once: never per partition (there were 4 or more)
    assert len(counts) == 2 and max(counts) == 1 and sum(counts) >= 1


def test_dask_predict_takes_a_series_and_renames_clashing_columns(client):
    series = dd.from_pandas(pd.Series(["Rossi", "Müller", "Nguyen"], name="language"), npartitions=2)
    result = nameclf.on_dask.predict(series).compute()
    assert list(result.columns[:3]) == ["language", "label", "nameclf_language"]
    assert result["nameclf_language"].tolist() == ["Italian", "German", "German"]


@pytest.mark.slow
def test_a_missing_column_is_a_one_line_error(table, tmp_path):
    with pytest.raises(nameclf.errors.DataError, match="no column 'nachname'"):
        nameclf.on_dask.predict(dd.read_parquet(str(table)), "nachname")
    result = run(*label_args(table, tmp_path / "o.parquet", "nachname"), env=user_env(tmp_path / "models"))
    assert result.returncode == 3 and result.stderr.strip().count("\n") == 0 and "'nachname'" in result.stderr
    assert list(tmp_path.glob("o.parquet*")) == [] and list(tmp_path.glob(".o.parquet*")) == []


@pytest.mark.slow
def test_the_cli_with_two_workers_writes_the_same_table_as_in_process(table, tmp_path):
    env = user_env(tmp_path / "models")
    outputs = {}
    for name, extra in (("workers", ["--workers", "2"]), ("local", [])):
        out = tmp_path / f"{name}.parquet"
        result = run(*label_args(table, out), "--model", "de-it", *extra, env=env)
        assert result.returncode == 0, result.stderr
        assert "labelled 4,000 rows" in result.stderr
        outputs[name] = pd.read_parquet(out)
    pd.testing.assert_frame_equal(outputs["workers"], outputs["local"])
    local = pd.read_parquet(table)
    expected = nameclf.load("de-it").predict_frame(local["surname"])
    assert_same_results(outputs["workers"].drop(columns=["id", "surname"]), expected.reset_index(drop=True))
    assert outputs["workers"]["id"].tolist() == local["id"].tolist()


@pytest.mark.slow
def test_csv_in_and_out_keeps_text_as_written(tmp_path):
    source = tmp_path / "people.csv"
    source.write_text("id,surname,zip\n1,Rossi,00123\n2,NA,\n3,,x\n", encoding="utf-8")
    out = tmp_path / "labelled.csv"
    result = run(*label_args(source, out), env=user_env(tmp_path / "m"))
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    header = (
        "label,language,probability,top,unknown_characters,error,warning,abstained,set,unfamiliar,novelty_p"  # as --csv
    )
    assert lines[0] == f"id,surname,zip,{header}"
    assert lines[1].startswith("1,Rossi,00123,Italian,")  # `00123` is not turned into a number
    assert lines[2].startswith("2,NA,,")  # `NA` is a name, not a missing value
    assert lines[3].endswith(",empty name,,false,,,")


@pytest.mark.slow
def test_an_interrupted_run_leaves_no_partial_out(tmp_path):
    source = tmp_path / "big.parquet"
    names = sample_names(300_000, seed=1)
    pd.DataFrame({"surname": pd.array(names, dtype="string")}).to_parquet(source, row_group_size=20_000)
    out = tmp_path / "labelled.parquet"
    out.write_bytes(b"the previous good file")
    process = subprocess.Popen(
        [str(SCRIPT), "predict", "--file", str(source), "--column", "surname", "--out", str(out), "--model", "all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_env(tmp_path / "models"),
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".labelled.parquet.*.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".labelled.parquet.*.partial")), "the run never started writing"
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert out.read_bytes() == b"the previous good file"  # what was there is still there
    assert list(tmp_path.glob(".labelled.parquet*")) == []  # and no half-written file beside it


def test_without_dask_workers_is_a_one_line_error_naming_the_extra(table, tmp_path):
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['dask.dataframe'] = None; "
        "sys.argv = ['nameclf'] + sys.argv[1:]; from nameclf.cli import main; main()"
    )
    out = tmp_path / "o.parquet"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            *label_args(table, out),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        env=user_env(tmp_path / "models"),
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert "pip install 'nameclf[dask]'" in result.stderr and not out.exists()


@pytest.mark.slow
def test_a_scheduler_that_cannot_be_reached_is_a_one_line_error(table, tmp_path):
    out = tmp_path / "o.parquet"
    result = run(*label_args(table, out), "--scheduler", "tcp://127.0.0.1:9", env=user_env(tmp_path / "models"))
    assert result.returncode == 4 and result.stderr.strip().count("\n") == 0
    assert "tcp://127.0.0.1:9" in result.stderr and not out.exists()
    assert list(tmp_path.glob(".o.parquet*")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "2"], "give --out"),
        (["--out", "x.parquet"], "--file TABLE and --column"),
        (["--out", "x.txt", "--file", "t.parquet", "--column", "s"], ".parquet or .csv"),
    ],
)
@pytest.mark.slow
def test_table_options_are_checked_in_one_line(args, message, tmp_path):
    result = run("predict", *args, env=user_env(tmp_path / "models"), cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and result.stderr.strip().count("\n") == 0
