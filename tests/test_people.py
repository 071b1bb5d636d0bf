"""A model scored on a table of people: accuracy, top-3 and set coverage by people and by name, beside
the ceiling (every name answered with its most common label), on the shipped German/Italian model."""

from __future__ import annotations

import json

import pytest
from cli_runner import run

import nameclf
from nameclf.labelled import Columns, read_table
from nameclf.people import evaluate_people

# (name, label, people): Tribbiani and Rossi Italian, Müller and Schmidt German, Bauer mixed 3:1, and
# ten more of each language so each label has the names a table needs
ROWS = [("Tribbiani", "Italian", 5), ("Rossi", "Italian", 2), ("Rossi", "German", 1), ("Müller", "German", 4)]
ROWS += [("Schmidt", "German", 3), ("Bauer", "German", 3), ("Bauer", "Italian", 1)]
ROWS += [(f"Bianchi{c}", "Italian", 1) for c in "abcdefghij"] + [(f"Schneider{c}", "German", 1) for c in "abcdefghij"]


@pytest.fixture
def table_file(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("surname,origin,n\n" + "".join(f"{n},{g},{c}\n" for n, g, c in ROWS), encoding="utf-8")
    return path


def test_the_figures_by_people_and_by_name_follow_the_answers_and_the_ceiling_is_the_majority(table_file):
    table = read_table(table_file, Columns("surname", "origin", "n"))
    clf = nameclf.load("de-it")
    figures = evaluate_people(clf, table, coverage=0.9)
    answers = {p.name: p.language for p in clf.predict(table.names)}
    people = {}
    for name, label, count in ROWS:
        people.setdefault(name, {}).setdefault(label, 0)
        people[name][label] += count
    total = sum(count for _, _, count in ROWS)
    right = sum(labels.get(answers[name], 0) for name, labels in people.items())
    assert figures["by_people"]["accuracy"] == pytest.approx(right / total)
    by_name = sum(labels.get(answers[name], 0) / sum(labels.values()) for name, labels in people.items())
    assert figures["by_name"]["accuracy"] == pytest.approx(by_name / len(people))
    # the ceiling: Rossi's 1 German and Bauer's 1 Italian person are wrong whatever the answer
    assert figures["by_people"]["ceiling"] == pytest.approx((total - 2) / total)
    assert figures["by_name"]["ceiling"] == pytest.approx((len(people) - 1 / 3 - 1 / 4) / len(people))
    assert figures["by_people"]["top_3"] == pytest.approx(1.0)  # two labels: both always in the top 3
    assert figures["by_people"]["accuracy"] <= figures["by_people"]["ceiling"]
    assert 1 <= figures["by_people"]["mean_set_size"] <= 2 and 0 <= figures["by_people"]["ece"] <= 1


def test_people_of_a_label_the_model_lacks_count_as_wrong(tmp_path):
    rows = [(f"Kowalski{c}", "Polish", 1) for c in "abcdefghij"] + [(f"Rossi{c}", "Italian", 1) for c in "abcdefghij"]
    path = tmp_path / "t.csv"
    path.write_text("s,g\n" + "".join(f"{n},{g}\n" for n, g, _ in rows), encoding="utf-8")
    figures = evaluate_people(nameclf.load("de-it"), read_table(path, Columns("s", "g")), coverage=None)
    assert figures["labels_the_model_lacks"] == ["Polish"] and figures["by_people"]["accuracy"] <= 0.5
    assert "set_coverage" not in figures["by_people"]


@pytest.mark.slow
def test_evaluate_scores_a_table_through_the_cli(table_file, env, tmp_path):
    args = ["evaluate", "--model", "de-it", "--file", str(table_file), "--column", "surname", "--label-column"]
    shown = run(*args, "origin", "--count-column", "n", env=env, cwd=tmp_path)
    assert shown.returncode == 0 and "by people" in shown.stdout and "ceiling" in shown.stdout, shown.stderr
    as_json = json.loads(run(*args, "origin", "--count-column", "n", "--json", env=env, cwd=tmp_path).stdout)
    assert as_json["people"] == sum(count for _, _, count in ROWS) and as_json["coverage"] == 0.9
    refused = run("evaluate", "--model", "de-it", "--file", str(table_file), "--column", "surname", env=env)
    assert refused.returncode == 2 and "--label-column" in refused.stderr
