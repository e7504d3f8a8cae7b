"""Renderers for traces and verdicts: ladder diagrams, verdict summaries, JSON, an HTML page."""

from .html import write_html
from .json_report import verdict_to_dict, write_json
from .labels import Labeler, flag_words
from .ladder import print_ladder, render_ladder
from .verdict_view import print_verdict, render_verdict

__all__ = [
    "Labeler", "flag_words", "print_ladder", "print_verdict", "render_ladder", "render_verdict",
    "verdict_to_dict", "write_html", "write_json",
]
