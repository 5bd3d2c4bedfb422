"""The publication's building blocks: EES screening of data/metadata pairs, metadata builders, and the layouts of
DfE's published LA outcome files."""

from cin_outcomes.publication.layouts import LA_FILES, FileLayout, layout, layouts
from cin_outcomes.publication.screener import (
    Finding,
    MetaRow,
    ScreeningError,
    ScreenResult,
    filter_row,
    indicator_row,
    meta_frame,
    meta_path_for,
    read_data_csv,
    read_meta_csv,
    require_pass,
    screen,
    screen_frames,
    write_meta,
)

__all__ = [
    "LA_FILES", "FileLayout", "layout", "layouts", "Finding", "MetaRow", "ScreeningError", "ScreenResult",
    "filter_row", "indicator_row", "meta_frame", "meta_path_for", "read_data_csv", "read_meta_csv", "require_pass",
    "screen", "screen_frames", "write_meta",
]
