"""Words the code writes into a sentence, in both of the book's languages.

Most glued values are numbers, which read the same in English and Chinese. A few are
phrases the code builds ("a 7", "0, 2, 4, 6 and 8"): glued as they are, they would show
up in English inside the Chinese book's sentences. :func:`glue_phrase` glues the phrase
twice, as ``name`` (English) and ``name`` + :data:`ZH_SUFFIX` (Chinese); the Chinese
book's generator (``book_tools.zh_sources``) points its glue roles at the second.
"""
from __future__ import annotations

#: The Chinese twin of a glued phrase is glued under its name plus this.
ZH_SUFFIX = "__zh"


def glue_phrase(name: str, en: str, zh: str) -> None:
    """Glue a phrase under ``name`` in English and under ``name + ZH_SUFFIX`` in Chinese."""
    from myst_nb import glue

    glue(name, en, display=False)
    glue(name + ZH_SUFFIX, zh, display=False)


def join_numbers(values, language: str = "en") -> str:
    """``[0, 2, 4]`` -> ``"0, 2 and 4"`` (English) or ``"0、2 和 4"`` (Chinese)."""
    words = [str(v) for v in values]
    if len(words) < 2:
        return "".join(words)
    if language == "en":
        return ", ".join(words[:-1]) + " and " + words[-1]
    return "、".join(words[:-1]) + " 和 " + words[-1]
