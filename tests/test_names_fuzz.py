"""Nothing a user types can crash nameclf: a fuzz corpus and properties, on the API and through the CLI.

Every name ends in an answer (a language, a probability in [0, 1]) or in a one-line error or
warning of its own; a batch never aborts because of one bad name, and a name made mostly of
characters the model never saw is flagged (no language) instead of answered with false confidence.

The model is the tiny numpy-built one from conftest (German/Italian, vocabulary: the ASCII letters
and "ü"), so every character outside that set is unknown to it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nameclf.predict import MAX_NAME_LENGTH, MOSTLY_UNKNOWN, Prediction, Predictor

SCRIPT = Path(sys.executable).with_name("nameclf")
# the result columns `predict --csv` writes after the input's, spelt out (the schema under test, not read from nameclf)
CSV_RESULTS = [
    "label",
    "language",
    "probability",
    "top",
    "unknown_characters",
    "error",
    "warning",
    "abstained",
    "set",
    "unfamiliar",
    "novelty_p",
]

ANSWER, FLAGGED, ERROR, ANY = "answer", "flagged", "error", "any"

# (id, name, what must happen, unknown characters expected or None)
CORPUS: list[tuple[str, str, str, int | None]] = [
    ("plain", "Rossi", ANSWER, 0),
    ("plain-umlaut", "Müller", ANSWER, 0),
    ("empty", "", ERROR, None),
    ("space", " ", ERROR, None),
    ("whitespace-mix", " \t\n\r\u00a0\u2003\u3000\u2028\u2029\x85\x0b\x0c\x1c ", ERROR, None),
    ("padded", " " * 10_000 + "Rossi" + "\t" * 5_000, ANSWER, 0),
    ("digits", "1234567890", FLAGGED, 10),
    ("punctuation", "!?.,;:'\"()[]{}-_/\\", FLAGGED, None),
    ("emoji", "😀😀😀", FLAGGED, 3),
    ("emoji-zwj-family", "👩\u200d👩\u200d👧\u200d👦", FLAGGED, None),
    ("emoji-flag", "🇮🇹", FLAGGED, 2),
    ("emoji-skin-tone", "👍🏽", FLAGGED, 2),
    ("cyrillic", "Иванов", FLAGGED, 6),
    ("greek", "Παπαδόπουλος", FLAGGED, 12),
    ("cjk", "李小龍", FLAGGED, 3),
    ("arabic", "عبد الله", FLAGGED, 8),
    ("hebrew", "כהן", FLAGGED, 3),
    ("devanagari", "शर्मा", FLAGGED, None),
    ("hangul", "김민준", FLAGGED, 3),
    ("fullwidth-latin", "Ｒｏｓｓｉ", FLAGGED, 5),
    ("mixed-half-unknown", "abЖЖ", ANSWER, 2),  # exactly half: still answered, with a warning
    ("mixed-mostly-unknown", "abЖЖЖ", FLAGGED, 3),
    ("one-unknown-cyrillic", "BianchiЖ", ANSWER, 1),
    ("one-unknown-apostrophe", "O'Brien", ANSWER, 1),
    ("one-unknown-hyphen", "Müller-Lüdenscheidt", ANSWER, 1),
    ("spaces-inside", "van der Berg", ANSWER, 2),
    ("nul-inside", "Ros\x00si", ANSWER, 1),
    ("nul-only", "\x00", FLAGGED, 1),
    ("nuls", "\x00" * 50, FLAGGED, 50),
    ("esc-colour", "\x1b[31mRossi\x1b[0m", ANSWER, 7),
    ("esc-clear-screen", "\x1b[2J\x1b[H", FLAGGED, 5),
    ("osc-title", "\x1b]0;pwned\x07", ANSWER, 5),  # exactly half unknown
    ("cr-inside", "Ros\rsi", ANSWER, 1),
    ("lf-inside", "Ros\nsi", ANSWER, 1),
    ("crlf-inside", "Ros\r\nsi", ANSWER, 2),
    ("tab-inside", "Ros\tsi", ANSWER, 1),
    ("bell-backspace", "\x07\x08\x7f", FLAGGED, 3),
    ("rtl-override", "\u202eissoR", ANSWER, 1),
    ("rtl-only", "\u202e\u202d\u202c", FLAGGED, 3),
    ("bidi-isolates", "\u2067Rossi\u2069", ANSWER, 2),
    ("zero-width-space", "\u200b", FLAGGED, 1),
    ("zero-width-inside", "Ro\u200bssi", ANSWER, 1),
    ("bom-prefix", "\ufeffRossi", ANSWER, 1),
    ("replacement-char", "\ufffd\ufffd", FLAGGED, 2),
    ("lone-high-surrogate", "\ud800", FLAGGED, 1),
    ("lone-low-surrogate", "\udcff", FLAGGED, 1),
    ("surrogate-pair-as-str", "\ud83d\ude00", FLAGGED, 2),
    ("surrogate-inside", "Ross\udc80i", ANSWER, 1),
    ("noncharacters", "\uffff\U0010ffff\ufdd0", FLAGGED, 3),
    ("private-use", "\ue000\U000f0000", FLAGGED, 2),
    ("combining-only", "\u0301\u0308\u0303", FLAGGED, 3),
    ("zalgo", "R\u0338\u0321o\u0337s\u0336s\u0335i\u0334", FLAGGED, 6),
    ("nfd-umlaut", "Mu\u0308ller", ANSWER, 0),  # NFC makes it "Müller", all known
    ("nfd-vietnamese", "Nguye\u0302\u0303n", ANSWER, 1),
    ("html", "<script>alert(1)</script>", ANSWER, 8),
    ("format-string", "%s%n{0}{name}", FLAGGED, 7),
    ("rich-markup", "[bold red]Rossi[/]", ANSWER, 6),
    ("json-injection", '"}\n{"name":"x"', FLAGGED, 9),
    ("csv-injection", "=cmd|' /C calc'!A0", ANSWER, 9),
    ("at-limit", "a" * MAX_NAME_LENGTH, ANSWER, 0),
    ("over-limit", "a" * (MAX_NAME_LENGTH + 1), ERROR, None),
    ("over-limit-after-nfc", "\u0958" * 200, ERROR, None),  # NFC decomposes each into 2 characters
    ("10k", "Rossi" * 2_000, ERROR, None),
    ("10k-emoji", "😀" * 10_000, ERROR, None),
]
CORPUS_IDS = [entry[0] for entry in CORPUS]
NAMES = [entry[1] for entry in CORPUS]


@pytest.fixture
def predictor(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir)


def one_line(text: str | None) -> bool:
    return bool(text) and len(text.splitlines()) == 1 and text.strip() == text


def check_prediction(prediction: Prediction, raw, labels: list[str], top_k: int) -> None:
    """The invariant: an answer, or no language and a one-line reason."""
    assert isinstance(prediction, Prediction)
    assert prediction.name is raw
    if prediction.language is not None:
        assert prediction.error is None
        assert prediction.language in labels
        assert prediction.probability is not None and 0.0 <= prediction.probability <= 1.0
        assert len(prediction.top) == min(top_k, len(labels))
        assert prediction.top[0] == (prediction.language, prediction.probability)
        probabilities = [p for _, p in prediction.top]
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        assert probabilities == sorted(probabilities, reverse=True)
        assert len({language for language, _ in prediction.top}) == len(prediction.top)
        if top_k >= len(labels):
            assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
        assert prediction.unknown_characters <= MOSTLY_UNKNOWN * prediction.length
        if prediction.unknown_characters:
            assert one_line(prediction.warning)
            assert str(prediction.unknown_characters) in prediction.warning
        else:
            assert prediction.warning is None
    else:
        assert prediction.probability is None and prediction.top == []
        reason = prediction.error or prediction.warning
        assert one_line(reason), repr(reason)
    json.dumps(prediction.to_dict())  # always serialisable (lone surrogates are escaped)


def same_answer(a: Prediction, b: Prediction, tolerance: float = 1e-5) -> None:
    assert (a.error, a.warning, a.unknown_characters, a.length) == (b.error, b.warning, b.unknown_characters, b.length)
    assert (a.language is None) == (b.language is None)
    if a.language is None:
        return
    assert [p for _, p in a.top] == pytest.approx([p for _, p in b.top], abs=tolerance)
    if len(a.top) > 1 and abs(a.top[0][1] - a.top[1][1]) < 10 * tolerance:
        return  # a near tie may be broken either way by rounding
    assert [language for language, _ in a.top] == [language for language, _ in b.top]


# --- API: the corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize("top_k", [1, 2, 99])
def test_corpus_as_one_batch_one_prediction_per_name_in_order(predictor, top_k):
    predictions = predictor.predict(NAMES, top_k=top_k)
    assert len(predictions) == len(NAMES)
    for (case, raw, _, _), prediction in zip(CORPUS, predictions):
        assert prediction.name is raw, case
        check_prediction(prediction, raw, predictor.labels, top_k)


@pytest.mark.parametrize(("name", "kind", "unknown"), [entry[1:] for entry in CORPUS], ids=CORPUS_IDS)
def test_corpus_entry(predictor, name, kind, unknown):
    prediction = predictor.predict([name], top_k=2)[0]
    check_prediction(prediction, name, predictor.labels, 2)
    if kind == ANSWER:
        assert prediction.language is not None, prediction
    elif kind == FLAGGED:  # mostly unknown characters: no language, a warning, not an error
        assert prediction.language is None and prediction.error is None, prediction
        assert "unknown" in prediction.warning
        assert prediction.unknown_characters > MOSTLY_UNKNOWN * prediction.length
    elif kind == ERROR:
        assert prediction.language is None and one_line(prediction.error), prediction
    if unknown is not None:
        assert prediction.unknown_characters == unknown


@pytest.mark.parametrize("name", ["Иванов", "李小龍", "😀😀😀", "\ud800\udfff", "12345"])
def test_mostly_unknown_names_are_flagged_not_answered(predictor, name):
    prediction = predictor.predict([name])[0]
    assert prediction.language is None and prediction.probability is None
    assert prediction.error is None
    assert prediction.unknown_characters == len(name)
    assert f"{len(name)} of {len(name)}" in prediction.warning and "unknown" in prediction.warning


@pytest.mark.parametrize("name", ["BianchiЖ", "Ros😀si", "Schmidt\x00", "O'Brien", "\u202eissoR"])
def test_one_unknown_character_among_known_ones_is_answered_with_a_warning(predictor, name):
    prediction = predictor.predict([name])[0]
    assert prediction.language in predictor.labels
    assert prediction.unknown_characters == 1
    assert prediction.warning.startswith("1 unknown character")


@pytest.mark.parametrize("name", ["Müller", "Åström", "Nguyễn", "Öztürk", "Ñúñez", "Đặng", "Škoda"])
def test_nfc_and_nfd_forms_give_the_same_answer(predictor, name):
    nfc, nfd = unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)
    assert nfc != nfd  # a real test: the two forms differ as strings
    alone = [predictor.predict([form], top_k=2)[0] for form in (nfc, nfd)]
    together = predictor.predict([nfc, nfd], top_k=2)
    for a, b in (alone, together):
        assert (a.language, a.probability, a.top) == (b.language, b.probability, b.top)
        assert (a.unknown_characters, a.length) == (b.unknown_characters, b.length)
        assert (a.warning, a.error) == (b.warning, b.error)
    if name == "Müller":  # in the model's vocabulary once composed: no unknown combining mark
        assert alone[1].unknown_characters == 0 and alone[1].language is not None


def test_a_10000_character_name_is_an_error_naming_the_limit(predictor):
    prediction = predictor.predict(["x" * 10_000, "Rossi"])
    assert prediction[0].language is None
    assert one_line(prediction[0].error)
    assert "10000" in prediction[0].error and str(MAX_NAME_LENGTH) in prediction[0].error
    assert prediction[1].language is not None  # its neighbour is not affected


def test_values_that_are_not_text_get_an_error_not_an_exception(predictor):
    raw = [None, b"Rossi", 42, "Rossi"]
    predictions = predictor.predict(raw)
    assert [p.error for p in predictions[:3]] == ["not text"] * 3
    assert predictions[3].language is not None


def test_predict_stream_matches_predict_across_chunk_borders(predictor):
    names = NAMES * 3
    streamed = list(predictor.predict_stream(iter(names), top_k=2, batch=7))
    assert len(streamed) == len(names)
    for a, b in zip(streamed, predictor.predict(names, top_k=2)):
        same_answer(a, b)


# --- API: properties ----------------------------------------------------------------------------

ANY_CHARACTER = st.characters(exclude_categories=())  # every code point, surrogates and controls included
KNOWN_ISH = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZüäЖ😀 '-\x00\u0308\u202e\r\n\t")
NAME = st.one_of(
    st.text(ANY_CHARACTER, max_size=30),
    st.text(KNOWN_ISH, max_size=30),
    st.text(KNOWN_ISH, min_size=MAX_NAME_LENGTH - 4, max_size=MAX_NAME_LENGTH + 4),
    st.sampled_from(NAMES),
)
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(names=st.lists(NAME, max_size=8), top_k=st.integers(1, 3))
@example(names=NAMES, top_k=2)
@example(names=[], top_k=1)
def test_predict_never_raises_and_each_name_stands_alone(predictor, names, top_k):
    predictions = predictor.predict(names, top_k=top_k)
    assert len(predictions) == len(names)
    for raw, prediction in zip(names, predictions):
        check_prediction(prediction, raw, predictor.labels, top_k)
        same_answer(predictor.predict([raw], top_k=top_k)[0], prediction)


@PROPERTY_SETTINGS
@given(name=st.one_of(st.text(ANY_CHARACTER, max_size=20), st.text(KNOWN_ISH, max_size=20)))
@example(name="Åström")
@example(name="Nguyễn")
def test_canonically_equivalent_names_get_the_same_answer(predictor, name):
    forms = {unicodedata.normalize(form, name) for form in ("NFC", "NFD")}
    answers = predictor.predict(sorted(forms), top_k=2)
    for answer in answers:
        check_prediction(answer, answer.name, predictor.labels, 2)
    first = answers[0]
    for other in answers[1:]:
        assert (first.language, first.probability, first.top, first.error, first.warning) == (
            other.language, other.probability, other.top, other.error, other.warning
        )  # fmt: skip


# --- CLI ----------------------------------------------------------------------------------------


def run(*args: str | bytes, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed script, as a user runs it; stdout and stderr as bytes (no newline translation)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "nameclf"]
    if env is None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    return subprocess.run([*command, *args], input=stdin, capture_output=True, env=env, timeout=300)


def stdout_lines(result: subprocess.CompletedProcess) -> list[str]:
    text = result.stdout.decode("utf-8")
    assert text == "" or text.endswith("\n")
    return text.split("\n")[:-1]


def stderr_of(result: subprocess.CompletedProcess) -> str:
    text = result.stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in text, text
    return text


def json_records(result: subprocess.CompletedProcess) -> list[dict]:
    records = [json.loads(line) for line in stdout_lines(result)]
    assert all(isinstance(record, dict) for record in records)
    return records


def arg_safe(name: str) -> bool:
    """Can this str be a command-line argument? (no NUL; a lone surrogate only as an undecodable byte)"""
    if "\x00" in name:
        return False
    try:
        os.fsencode(name)
    except UnicodeEncodeError:
        return False
    return True


ARG_NAMES = [name for name in NAMES if arg_safe(name)] + [
    "-Rossi",  # looks like an option: fine after `--`
    "--json",
    "\udcff\udcfe",  # bytes that are not UTF-8 arrive as surrogate escapes
    "Ross\u2028i",
    "Ross\x85i",
]


def failed_summary(stderr: str, failed: int, total: int) -> None:
    assert f"{failed} of {total} name(s) got no answer" in stderr, stderr


def test_cli_arguments_one_text_line_per_name(tiny_model_dir, predictor):
    expected = predictor.predict(ARG_NAMES)
    result = run("predict", "--model", str(tiny_model_dir), "--", *ARG_NAMES)
    assert result.returncode == 0  # some names got no answer, and are marked: exit 3 only when none did
    lines = stdout_lines(result)
    assert len(lines) == len(ARG_NAMES)
    text = result.stdout.decode("utf-8")
    assert len(text.splitlines()) == len(ARG_NAMES)  # no \r, \x85, \u2028 ... split a line either
    for forbidden in ("\r", "\x1b", "\x00", "\u202e", "\u2028", "\x85", "\x07"):
        assert forbidden not in text  # nothing can drive the terminal
    for line, prediction in zip(lines, expected):
        if prediction.language is None:
            assert "  -  (" in line and (prediction.error or prediction.warning) in line
        else:
            assert f"{prediction.language} " in line
    failed_summary(stderr_of(result), sum(p.language is None for p in expected), len(ARG_NAMES))


def test_cli_arguments_all_answered_exit_0(tiny_model_dir):
    names = ["Rossi", "Mu\u0308ller", "O'Brien", "\u202eissoR", "Ros\x1bsi", "a" * MAX_NAME_LENGTH]
    result = run("predict", "--model", str(tiny_model_dir), *names)
    assert result.returncode == 0
    assert len(stdout_lines(result)) == len(names)
    assert stderr_of(result) == ""


NEWLINE_NAMES = ["Ross\ni", "\n", "a\r\nb", "Rossi\n\nBianchi", "x\x0by\x0cz", "x\u2029y", "\r"]


def test_cli_a_newline_inside_an_argument_does_not_add_lines(tiny_model_dir):
    names = ["Rossi", *NEWLINE_NAMES, "Bianchi"]
    result = run("predict", "--model", str(tiny_model_dir), *names)
    assert len(stdout_lines(result)) == len(names)
    lines = result.stdout.decode("utf-8").splitlines()  # by every line break Python knows
    assert len(lines) == len(names)
    assert lines[0].startswith("Rossi") and lines[-1].startswith("Bianchi")
    stderr_of(result)


def test_cli_arguments_json_one_object_per_name(tiny_model_dir, predictor):
    expected = predictor.predict(ARG_NAMES, top_k=2)
    result = run("predict", "--model", str(tiny_model_dir), "--json", "-k", "2", "--", *ARG_NAMES)
    assert result.returncode == 0
    records = json_records(result)
    assert len(records) == len(ARG_NAMES)
    for record, prediction in zip(records, expected):
        assert record["name"] == prediction.name  # lone surrogates come back as JSON escapes
        assert record["language"] == prediction.language
        assert (record["error"], record["warning"]) == (prediction.error, prediction.warning)
        assert record["unknown_characters"] == prediction.unknown_characters
        if prediction.language is None:
            assert record["probability"] is None and record["top"] == []
        else:
            assert record["probability"] == pytest.approx(prediction.probability, abs=1e-5)
            assert sum(t["probability"] for t in record["top"]) == pytest.approx(1.0, abs=1e-4)
    stderr_of(result)


def test_cli_arguments_csv_one_row_per_name(tiny_model_dir, predictor):
    expected = predictor.predict(ARG_NAMES)
    result = run("predict", "--model", str(tiny_model_dir), "--csv", "--", *ARG_NAMES)
    assert result.returncode == 0
    rows = list(csv.reader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert rows[0] == ["name", *CSV_RESULTS]
    assert len(rows) == 1 + len(ARG_NAMES)
    for row, prediction in zip(rows[1:], expected):
        assert len(row) == 12
        if arg_safe(prediction.name) and not any("\ud800" <= c <= "\udfff" for c in prediction.name):
            assert row[0] == prediction.name
        assert row[1] == row[2] == (prediction.label or "")  # label, and language for a model of languages
        no_answer = prediction.label is None and not prediction.abstained  # the reason is the error
        assert row[6] == (prediction.error or (prediction.warning if no_answer else None) or "")
        assert row[7] == ("" if no_answer else prediction.warning or "")
    stderr_of(result)


def test_cli_a_10000_character_argument(tiny_model_dir):
    result = run("predict", "--model", str(tiny_model_dir), "x" * 10_000, "Rossi")
    assert result.returncode == 0
    lines = stdout_lines(result)
    assert len(lines) == 2 and len(lines[0]) < 200  # the name is shortened on screen
    assert "10000" in lines[0] and str(MAX_NAME_LENGTH) in lines[0]
    failed_summary(stderr_of(result), 1, 2)


# --- CLI: files ---------------------------------------------------------------------------------

LONG_LINE = "Rossi" * 2_000
# (bytes of one line without its end, the name read from it; None for a line that is blank)
FILE_PATTERN: list[tuple[bytes, str | None]] = [
    (b"Rossi", "Rossi"),
    ("Müller".encode(), "Müller"),
    (b"", None),
    (b"   ", None),
    (b"\t \x0b", None),
    (b"M\xfcller", "Müller"),  # a Latin-1 line in a UTF-8 file
    (b"Ros\xff\xfesi", "Ros\xff\xfesi"),  # garbage bytes: read as Latin-1, two unknown characters
    (b"Bian\xe4chi", "Bian\xe4chi"),
    ("Иванов".encode(), "Иванов"),
    ("😀😀😀".encode(), "😀😀😀"),
    (b"Bian\x00chi", "Bian\x00chi"),
    (b"\x1b[31mRossi\x1b[0m", "\x1b[31mRossi\x1b[0m"),
    ("Nguye\u0302\u0303n".encode(), "Nguye\u0302\u0303n"),
    (b"\xc3", "\xc3"),  # a truncated UTF-8 sequence
    ("\u202eissoR".encode(), "\u202eissoR"),
    (b"  Schmidt  ", "  Schmidt  "),
    (b"\xed\xa0\x80", "\xed\xa0\x80"),  # an encoded lone surrogate is not UTF-8: Latin-1
]


def big_file(path: Path, lines: int = 100_000) -> list[str]:
    """Write a file of `lines` lines (LF and CRLF ends, a 10,000-character line, no final line end)."""
    chunks: list[bytes] = []
    names: list[str] = []
    for i in range(lines):
        raw, name = FILE_PATTERN[i % len(FILE_PATTERN)]
        if i == lines // 2:
            raw, name = LONG_LINE.encode(), LONG_LINE
        chunks.append(raw + (b"" if i == lines - 1 else b"\r\n" if i % 3 else b"\n"))
        if name is not None:
            names.append(name)
    path.write_bytes(b"".join(chunks))
    return names


@pytest.mark.slow
def test_cli_file_of_100000_lines(tiny_model_dir, predictor, tmp_path):
    path = tmp_path / "names.txt"
    names = big_file(path)
    assert path.read_bytes().count(b"\n") == 100_000 - 1
    result = run("predict", "--model", str(tiny_model_dir), "--file", str(path), "--json", "-k", "2")
    assert result.returncode == 0  # a file: some names got no answer, most did
    records = json_records(result)
    assert [record["name"] for record in records] == names
    expected = {p.name: p for p in predictor.predict(sorted(set(names)), top_k=2)}
    for record in records:
        prediction = expected[record["name"]]
        assert (record["language"], record["error"], record["warning"]) == (
            prediction.language, prediction.error, prediction.warning
        )  # fmt: skip
        if record["language"] is None:
            assert record["error"] or record["warning"]
        else:
            assert abs(record["probability"] - prediction.probability) <= 1e-5  # (pytest.approx: slow here)
    long = records[names.index(LONG_LINE)]
    assert long["language"] is None and "10000" in long["error"] and str(MAX_NAME_LENGTH) in long["error"]
    latin1 = records[names.index("Müller", names.index("Müller") + 1)]
    assert latin1["language"] is not None and latin1["unknown_characters"] == 0
    failed = sum(record["language"] is None for record in records)
    assert 0 < failed < len(records)
    stderr = stderr_of(result)
    failed_summary(stderr, failed, len(records))
    if "blank" in stderr:  # blank lines are skipped; where they are counted, the count is right
        assert f"{100_000 - len(names)} blank" in stderr, stderr


def test_cli_file_text_output_one_line_per_name(tiny_model_dir, tmp_path):
    path = tmp_path / "weird.txt"
    raw = b"".join(raw + b"\n" for raw, _ in FILE_PATTERN) + b"Ross\xe2\x80\xa8i\nx\xc2\x85y\nOld\rMac\rEnds\r"
    path.write_bytes(raw)
    names = [name for _, name in FILE_PATTERN if name is not None] + ["Ross\u2028i", "x\x85y", "Old", "Mac", "Ends"]
    result = run("predict", "--model", str(tiny_model_dir), "--file", str(path))
    assert result.returncode == 0
    text = result.stdout.decode("utf-8")
    assert len(text.splitlines()) == len(names)
    assert "\x1b" not in text and "\r" not in text and "\x00" not in text
    stderr_of(result)


ENCODED = {
    "utf-16-le-bom": codecs.BOM_UTF16_LE + "Müller\r\nRossi\r\n\r\nИванов\n".encode("utf-16-le"),
    "utf-16-be-bom": codecs.BOM_UTF16_BE + "Müller\nRossi\n\nИванов".encode("utf-16-be"),
    "utf-8-bom": codecs.BOM_UTF8 + "Müller\r\nRossi\r\n\r\nИванов\r\n".encode(),
    "latin-1-mixed": "Müller\nRossi\n\n".encode("latin-1") + "Иванов\n".encode(),
    "latin-1": b"M\xfcller\r\nRossi\r\n",
}


@pytest.mark.parametrize(
    ("encoding", "via"),
    [(encoding, "path") for encoding in ENCODED] + [("utf-16-le-bom", "stdin"), ("latin-1", "stdin")],
)
@pytest.mark.slow
def test_cli_file_encodings_read_mueller_right(tiny_model_dir, predictor, tmp_path, encoding, via):
    encoded = ENCODED[encoding]
    if via == "path":
        (tmp_path / "names.txt").write_bytes(encoded)
        result = run("predict", "--model", str(tiny_model_dir), "--json", "--file", str(tmp_path / "names.txt"))
    else:
        result = run("predict", "--model", str(tiny_model_dir), "--json", "--file", "-", stdin=encoded)
    assert result.returncode == 0
    records = json_records(result)
    assert [record["name"] for record in records][:2] == ["Müller", "Rossi"]
    assert all(record["name"] in ("Müller", "Rossi", "Иванов") for record in records)
    reference = predictor.predict(["Müller"])[0]
    assert records[0]["language"] == reference.language
    assert records[0]["probability"] == pytest.approx(reference.probability, abs=1e-5)
    assert records[0]["unknown_characters"] == 0
    stderr_of(result)


def test_cli_stdin_matches_arguments(tiny_model_dir):
    names = ["Rossi", "Müller", "Иванов", "O'Brien", "Ros\x1bsi"]
    by_args = run("predict", "--model", str(tiny_model_dir), "--json", *names)
    piped = run("predict", "--model", str(tiny_model_dir), "--json", "--file", "-",
                stdin="\r\n".join(names).encode() + b"\r\n\r\n")  # fmt: skip
    assert by_args.returncode == piped.returncode == 0  # one rule for arguments and files: some were answered
    assert json_records(by_args) == json_records(piped)
    stderr_of(by_args)
    stderr_of(piped)


CSV_TEXT = (
    "id,surname,note\r\n"
    '1,Rossi,"a, b"\r\n'
    '2,"Müller, Jr","x ""quoted"" y"\r\n'
    '3,"O\'Brien",z\r\n'
    "4\r\n"
    "\r\n"
    "5,,z\r\n"
    '6,"Иванов",z\r\n'
    '8,"' + LONG_LINE + '",z\r\n'
    "9,Schmidt"
)
CSV_NAMES = ["Rossi", "Müller, Jr", "O'Brien", "", "", "Иванов", LONG_LINE, "Schmidt"]
CSV_BLANKS = 2  # row 4 has no surname field, row 5 an empty one


def check_blank_rows(records_or_rows: list, stderr: str) -> list:
    """Empty names may be marked ("empty name") or skipped and counted on stderr; the rest stay in order."""
    names = [item["name"] if isinstance(item, dict) else item[0] for item in records_or_rows]
    assert [name for name in names if name.strip()] == [name for name in CSV_NAMES if name.strip()]
    marked = [item for item, name in zip(records_or_rows, names) if not name.strip()]
    for item in marked:
        assert (item["error"] if isinstance(item, dict) else item[5]) == "empty name"
    if skipped := CSV_BLANKS - len(marked):
        assert re.search(rf"\b{skipped}\b[^\n]*skipped", stderr), stderr
    return [item for item, name in zip(records_or_rows, names) if name.strip()]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_cli_csv_column(tiny_model_dir, tmp_path, encoding):
    path = tmp_path / "people.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    result = run("predict", "--model", str(tiny_model_dir), "--file", str(path), "--column", "surname", "--json")
    assert result.returncode == 0
    stderr = stderr_of(result)
    records = json_records(result)
    kept = check_blank_rows(records, stderr)
    answered = [record["name"] for record in kept if record["language"] is not None]
    assert answered == ["Rossi", "Müller, Jr", "O'Brien", "Schmidt"]
    assert "unknown" in kept[3]["warning"] and "10000" in kept[4]["error"]
    failed_summary(stderr, sum(record["language"] is None for record in records), len(records))


def test_cli_csv_output_of_a_csv_input(tiny_model_dir, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    result = run("predict", "--model", str(tiny_model_dir), "--file", str(path), "--column", "surname", "--csv")
    assert result.returncode == 0
    rows = list(csv.reader(io.StringIO(result.stdout.decode("utf-8"), newline="")))
    assert rows[0] == ["id", "surname", "note", *CSV_RESULTS]  # the input table, result columns added
    assert all(len(row) == 3 + len(CSV_RESULTS) for row in rows)
    body = rows[1:]
    assert [row[0] for row in body] == ["1", "2", "3", "4", "5", "6", "8", "9"]  # every row, in order
    assert [row[1] for row in body] == CSV_NAMES
    assert body[0][2] == "a, b" and body[1][2] == 'x "quoted" y'  # other columns kept as they were
    for row in body:
        assert (row[8] == "empty name") == (not row[1].strip())


@pytest.mark.parametrize("content", [CSV_TEXT, "\r\n\r\n"], ids=["other-columns", "blank"])
def test_cli_csv_missing_column_is_one_line_naming_it(tiny_model_dir, tmp_path, content):
    path = tmp_path / "people.csv"
    path.write_text(content, encoding="utf-8")
    result = run("predict", "--model", str(tiny_model_dir), "--file", str(path), "--column", "nachname")
    assert result.returncode == 3
    assert result.stdout == b""
    stderr = stderr_of(result)
    assert len(stderr.strip().splitlines()) == 1
    assert "'nachname'" in stderr and str(path) in stderr


def test_cli_csv_field_over_the_csv_module_limit_is_one_bad_row(tiny_model_dir, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(f"id,surname\n1,Rossi\n2,{'x' * 200_000}\n3,Bianchi\n", encoding="utf-8")
    result = run("predict", "--model", str(tiny_model_dir), "--file", str(path), "--column", "surname", "--json")
    assert "internal error" not in result.stderr.decode()
    assert result.returncode == 0
    records = json_records(result)
    assert len(records) == 3
    assert records[0]["language"] is not None and records[2]["language"] is not None
    assert records[1]["language"] is None and records[1]["error"]
