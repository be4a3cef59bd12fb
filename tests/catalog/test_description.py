"""Descriptions render as safe HTML: merchants' text can never inject markup."""

from clearhouse.catalog.description import render_description


def test_script_and_markup_are_escaped_not_rendered():
    html = render_description('<script>alert("x")</script> <img src=x onerror=alert(1)>')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&quot;x&quot;" in html


def test_paragraphs_line_breaks_lists_and_emphasis():
    html = render_description("Fresh **spring** tea.\nPicked by *hand*.\n\n- 50 g\n- vacuum packed")
    assert html == ("<p>Fresh <strong>spring</strong> tea.<br>Picked by <em>hand</em>.</p>"
                    "<ul><li>50 g</li><li>vacuum packed</li></ul>")


def test_emphasis_cannot_smuggle_attributes():
    html = render_description('**" onmouseover="alert(1)**')
    assert html == "<p><strong>&quot; onmouseover=&quot;alert(1)</strong></p>"


def test_an_empty_description_renders_as_nothing():
    assert render_description("") == ""
    assert render_description("\n\n  \n") == ""
