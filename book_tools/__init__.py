"""The book's own tooling, apart from the package readers import (``cnn_helpers``).

- ``build``      -- ``make book``: local MathJax, the draw page's model, ``jupyter-book build``
- ``draw_page``  -- the "Draw a digit" page: model export, preprocessing, reference forward pass
- ``bench``      -- ``make bench``: training speed next to the CPU's matmul rate
- ``execute``    -- ``make execute [NB=...]``: re-run chapters in place
- ``paths``      -- the repository's root and the Chromium binary, written once
- ``sphinx_ext`` -- the book's Sphinx fixes
"""
