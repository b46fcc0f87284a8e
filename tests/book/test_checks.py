import json
from fractions import Fraction

import numpy as np
import pytest
import torch

from cvlib.book.checks import MIME_TYPE, Check, Checks, ClaimsMimeRenderer, slug


def test_agreement_and_disagreement():
    c = Checks()
    c.add("exact", 290400, 55 * 55 * 96)
    c.add("wrong", 60790, 60000)
    c.add("close", 15.5e9, 15.47e9, rel_tol=0.01)
    assert c["exact"].ok and c["close"].ok and not c["wrong"].ok
    assert [r.claim for r in c.disagreements()] == ["wrong"]
    assert "DIFFERS" in str(c) and "290,400" in str(c)


def test_source_header_and_html():
    c = Checks(source="the paper says")
    c.add("a", 1, 1)
    assert "the paper says" in str(c) and "the paper says" in c._repr_html_()


def test_bad_tolerance_and_missing_claim():
    c = Checks()
    with pytest.raises(ValueError, match="rel_tol"):
        c.add("x", 1, 1, rel_tol=-0.1)
    with pytest.raises(KeyError):
        c["nothing"]


@pytest.mark.parametrize("notes, computed", [(1, True), (True, 1), (0, False), (False, 0), (1.0, True),
                                             ("True", True), ((1, 0), (True, False)), (True, None)])
def test_a_bool_agrees_only_with_a_bool(notes, computed):
    assert not Check("c", notes, computed).ok
    assert Check("c", True, True).ok and Check("c", False, False).ok and not Check("c", True, False).ok


def test_numpy_and_torch_scalars_are_their_python_values():
    assert Check("c", True, np.bool_(True)).ok and Check("c", True, torch.tensor(True)).ok
    assert not Check("c", 1, np.bool_(True)).ok
    assert Check("c", 3, np.int64(3)).ok and Check("c", 0.5, torch.tensor(0.5)).ok
    assert Check("c", (1, 2), np.array([1, 2])).ok
    assert "tensor" not in str(Checks(rows=[Check("c", 1.5, torch.tensor(1.5))]))


def test_rel_tol_applies_element_wise():
    assert Check("c", (100, 200), (101, 199), rel_tol=0.01).ok
    assert not Check("c", (100, 200), (101, 190), rel_tol=0.01).ok
    assert Check("c", [(1.0, 2.0), 3.0], ((1.001, 2.0), 3.0), rel_tol=0.01).ok  # nested, list or tuple
    assert not Check("c", (1, 2), (1, 2, 3)).ok and not Check("c", (1, 2), 1).ok
    assert not Check("c", (100, 200), (101, 199)).ok  # exact without a tolerance


def test_other_values():
    assert Check("c", "ReLU", "ReLU").ok and not Check("c", "ReLU6", "ReLU").ok
    assert not Check("c", Fraction(2, 5), 2).ok and Check("c", Fraction(1, 2), 0.5).ok
    assert not Check("c", float("nan"), float("nan")).ok


def test_duplicate_claims_and_ids_are_refused():
    c = Checks("t")
    c.add("A vs A-LRN: +0.1", 0.1, -0.1)
    with pytest.raises(ValueError, match="duplicate claim"):
        c.add("A vs A-LRN: +0.1", 0.1, -0.1)
    with pytest.raises(ValueError, match="same id"):
        c.add("A vs A-LRN +0.1", 0.1, -0.1)  # another text, the same slug
    c.add("A vs A-LRN +0.1", 0.1, -0.1, id="a-vs-a-lrn-again")
    with pytest.raises(ValueError, match="same id"):
        c.statement("s", notes="n", paper="p", evidence="e", agrees=True, id="a-vs-a-lrn-again")


def test_lookup_by_claim_or_id():
    c = Checks()
    row = c.add("A vs A-LRN: accuracy +0.1 (top-1)", 0.1, -0.1)
    other = c.add("the same thing", 1, 1, id="custom")
    assert row.id == "a-vs-a-lrn-accuracy-0-1-top-1"
    assert c["A vs A-LRN: accuracy +0.1 (top-1)"] is row and c["a-vs-a-lrn-accuracy-0-1-top-1"] is row
    assert c["custom"] is other and "custom" in c and "nothing" not in c and list(c) == [row, other]


@pytest.mark.parametrize("text, expected", [
    ("A vs A-LRN: accuracy +0.1 (top-1)", "a-vs-a-lrn-accuracy-0-1-top-1"),
    ("7×7×3×112×112×64", "7x7x3x112x112x64"),
    ("LRN α", "lrn-alpha"),
    ("the paper's input side", "the-papers-input-side"),
    ("六步交替法: 4 trainings + 2 proposal passes", "4-trainings-2-proposal-passes"),
    ("x² ≤ 1", "x2-1"),
    ("window ⌈a/n⌉, stride ⌊a/n⌋ give n bins for every map side a ≥ n",
     "window-a-n-stride-a-n-give-n-bins-for-every-map"),
])
def test_slug(text, expected):
    assert slug(text) == expected and len(slug(text)) <= 48


def test_ids_are_checked():
    with pytest.raises(ValueError, match="id="):
        Check("全是中文", 1, 1)
    with pytest.raises(ValueError, match="lower-case"):
        Check("c", 1, 1, id="Not An Id")
    assert Check("全是中文", 1, 1, id="chinese-only").id == "chinese-only"


def test_statements():
    c = Checks()
    s = c.statement("SPP-Net fine-tunes only the FC layers because of the receptive field",
                    notes="感受野太大, so the convolutions are not fine-tuned",
                    paper="SPP's back-propagation through RoIs that span the image is inefficient",
                    evidence="Fast R-CNN §2.3", agrees=False)
    ok = c.statement("agreeing", notes="n", paper="p", evidence="e", agrees=True)
    assert s.kind == "statement" and not s.ok and ok.ok and c.disagreements() == [s]
    assert "Fast R-CNN §2.3" in str(c) and "Fast R-CNN §2.3" in c._repr_html_()
    assert "computed or cited" in str(c)
    with pytest.raises(ValueError, match="evidence"):
        c.statement("x", notes="n", paper="p", evidence="", agrees=False)
    with pytest.raises(ValueError, match="agrees"):
        c.statement("y", notes="n", paper="p", evidence="e", agrees="no")
    with pytest.raises(ValueError, match="notes"):
        c.statement("z", notes="", paper="p", evidence="e", agrees=False)
    with pytest.raises(ValueError, match="agrees"):
        Check("c", 1, 1, agrees=True)


def test_mimebundle_and_json():
    c = Checks("VGG", source="the notes say")
    c.add("A vs A-LRN: accuracy +0.1 (top-1)", 0.1, -0.1000000000001)
    c.add("shape", (224, 224, 3), (224, 224, 3))
    c.add("ratio", 2.0, 2.0000000004, rel_tol=0.01, evidence="Table 3")
    c.statement("reason", notes="n", paper="p", evidence="§3.3", agrees=False, id="reason")
    bundle = c._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", MIME_TYPE}
    assert bundle["text/plain"] == str(c) and bundle["text/html"] == c._repr_html_()
    data = bundle[MIME_TYPE]
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # plain JSON
    assert data["version"] == 1 and data["title"] == "VGG" and data["source"] == "the notes say"
    first, shape, ratio, reason = data["claims"]
    assert first == {"id": "a-vs-a-lrn-accuracy-0-1-top-1", "claim": "A vs A-LRN: accuracy +0.1 (top-1)",
                     "kind": "computed", "notes": 0.1, "computed": -0.1, "notes_text": "0.1",
                     "computed_text": "-0.1", "rel_tol": 0.0, "agrees": False, "verdict": "DIFFERS",
                     "evidence": None}
    assert shape["computed"] == [224, 224, 3] and shape["agrees"]
    assert ratio["computed"] == 2.0 and ratio["evidence"] == "Table 3" and ratio["verdict"] == "agrees (±1%)"
    assert reason["kind"] == "statement" and reason["computed"] == "p" and reason["evidence"] == "§3.3"
    assert '<tr id="claim-reason">' in bundle["text/html"]


def test_json_is_deterministic_to_the_digits_shown():
    a, b = Checks(), Checks()
    a.add("x", 1 / 3, 0.1 + 0.2)
    b.add("x", 0.33333333, 0.30000000000000004)
    assert a.to_json() == b.to_json()
    c = Checks()
    c.add("inf", float("inf"), float("nan"))
    c.add("set", {"b", "a", "c"}, {"c", "b", "a"})
    c.add("object", object(), object())
    assert json.dumps(c.to_json(), allow_nan=False)
    rows = c.to_json()["claims"]
    assert rows[1]["notes"] == ["a", "b", "c"] and rows[1]["agrees"]
    assert "0xADDRESS" in rows[2]["notes"]


def test_mime_renderer_plugin():
    class Data:
        mime_type = MIME_TYPE

    class Other:
        mime_type = "text/html"

    assert ClaimsMimeRenderer.handle_mime(None, Data(), False) == []
    assert ClaimsMimeRenderer.handle_mime(None, Other(), False) is None
    assert ("*", MIME_TYPE, None) in ClaimsMimeRenderer.mime_priority_overrides
