import pytest

from cvlib.book.checks import Checks


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
