"""Make matplotlib's SVG fit to inline in the evidence page: readable by a screen reader, nothing to fetch or run.

``inline_svg`` takes the text ``FigureCanvasSVG.print_svg`` writes and returns one ``<svg>`` element:

* no XML prolog, doctype or ``<metadata>`` (its RDF names external vocabularies), so it can sit inside HTML;
* no ``<style>`` element: matplotlib's only rule (``stroke-linejoin``/``stroke-linecap``) moves to the page's own
  ``<style>`` (``SVG_CSS``), which carries the Content-Security-Policy nonce; the ``style`` *attributes* stay
  (the policy allows them with ``style-src-attr 'unsafe-inline'``);
* no font-family in each text's style: the page sets one font for the figure (``SVG_CSS``), a fifth of the bytes;
* ``role="img"``, ``aria-labelledby`` naming a ``<title>`` and a ``<desc>`` (the first children), and no fixed
  ``width``/``height``: the ``viewBox`` scales it to the page width;
* no ``<script>``, event attribute or external reference (``assert_self_contained`` checks; the tests call it).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
SVG_CSS = (
    "svg.timeline{width:100%;height:auto;display:block}"
    "svg.timeline *{stroke-linejoin:round;stroke-linecap:butt}"
    "svg.timeline text{font-family:'DejaVu Sans',Verdana,Arial,Helvetica,sans-serif}"
)
"""The figure's CSS, for the page's ``<style>``: matplotlib's own rule and the font of every label."""
_PROLOG = re.compile(r"^.*?(?=<svg[\s>])", re.DOTALL)
_FONT_FAMILY = re.compile(r"\s*font-family:[^;]*;?")


def inline_svg(svg: str, *, title: str, desc: str, element_id: str = "timeline") -> str:
    """Return matplotlib's SVG ``svg`` as one inline ``<svg>`` element with ``title`` and ``desc`` (see module).

    Args:
        svg: the document ``print_svg`` wrote.
        title: the figure's name, in the page language (escaped here).
        desc: its one-sentence text summary, in the page language (escaped here).
        element_id: the ``id`` of the root element; ``<title>`` and ``<desc>`` get ``<id>-title``, ``<id>-desc``.

    Raises:
        xml.etree.ElementTree.ParseError: ``svg`` is not an SVG document (a defect: matplotlib wrote it).
    """
    root = ET.fromstring(_PROLOG.sub("", svg, count=1))
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}metadata", f"{{{SVG_NS}}}style"):
                parent.remove(child)
    for element in root.iter():
        _unqualify(element)
        style = element.get("style")
        if element.tag == "text" and style is not None:
            element.set("style", _FONT_FAMILY.sub("", style).strip())
    for attribute in ("width", "height", "version"):
        root.attrib.pop(attribute, None)
    root.set("xmlns", SVG_NS)
    root.set("xmlns:xlink", XLINK_NS)
    root.set("id", element_id)
    root.set("class", "timeline")
    root.set("role", "img")
    root.set("aria-labelledby", f"{element_id}-title {element_id}-desc")
    title_element = ET.Element("title", {"id": f"{element_id}-title"})
    title_element.text = title
    desc_element = ET.Element("desc", {"id": f"{element_id}-desc"})
    desc_element.text = desc
    root.insert(0, desc_element)
    root.insert(0, title_element)
    return ET.tostring(root, encoding="unicode")


def _unqualify(element: ET.Element) -> None:
    """Write the element's SVG tag and xlink attributes with the names HTML uses (``g``, ``xlink:href``).

    ElementTree would invent ``ns0:`` prefixes; the root declares both namespaces instead (``inline_svg``).
    """
    element.tag = element.tag.removeprefix(f"{{{SVG_NS}}}")
    for name in [key for key in element.attrib if key.startswith(f"{{{XLINK_NS}}}")]:
        element.set("xlink:" + name.removeprefix(f"{{{XLINK_NS}}}"), element.attrib.pop(name))


_EVENT_ATTRIBUTE = re.compile(r"\son\w+\s*=", re.IGNORECASE)
_EXTERNAL = re.compile(r"""(?:href|src)\s*=\s*["'](?!#)|url\(\s*["']?(?!#)""", re.IGNORECASE)


def assert_self_contained(svg: str) -> None:
    """Raise ``AssertionError`` when ``svg`` holds a script, an event handler or a reference outside itself.

    Internal references (``href="#id"``, ``url(#id)``) are allowed; namespace declarations are not references.
    """
    assert "<script" not in svg.lower(), "a <script> element"
    assert not _EVENT_ATTRIBUTE.search(svg), "an event-handler attribute"
    assert not _EXTERNAL.search(svg), "a reference outside the SVG"
    assert "<style" not in svg.lower(), "a <style> element (it would need the page's nonce)"
