"""A DataTable that is updated in place from views: new keys add rows, changed cells are set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

__all__ = ["ViewTable"]

V = TypeVar("V")
Cells = tuple[Text, ...]


class ViewTable(DataTable[Text], Generic[V]):
    """Rows keyed by a view's key; only cells whose text or style changed are redrawn."""

    ALLOW_MAXIMIZE = True

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        key: Callable[[V], str],
        cells: Callable[[V], Cells],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._column_defs = tuple(columns)
        self._key = key
        self._cells = cells
        self._shown: dict[str, Cells] = {}
        self.views: dict[str, V] = {}
        self.cell_updates = 0

    def on_mount(self) -> None:
        for column_key, label in self._column_defs:
            self.add_column(label, key=column_key)

    def update_views(self, views: Sequence[V]) -> None:
        for view in views:
            key = self._key(view)
            self.views[key] = view
            cells = self._cells(view)
            old = self._shown.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            else:
                for (column_key, _), new_cell, old_cell in zip(
                    self._column_defs, cells, old, strict=True
                ):
                    if new_cell.plain != old_cell.plain or new_cell.style != old_cell.style:
                        # Growing a column re-lays out the screen: only when the text needs it.
                        column = self.columns[ColumnKey(column_key)]
                        grow = new_cell.cell_len > column.content_width
                        self.update_cell(key, column_key, new_cell, update_width=grow)
                        self.cell_updates += 1
            self._shown[key] = cells

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, or None for an empty table."""
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except RowDoesNotExist:
            return None
        return None if row_key.value is None else str(row_key.value)

    @property
    def selected_view(self) -> V | None:
        key = self.selected_key
        return None if key is None else self.views.get(key)

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row with ``key``; False when there is no such row."""
        if key not in self._shown:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True

    def row_text(self, key: str) -> list[str]:
        """The plain text of a row as shown (for tests)."""
        return [cell.plain for cell in self._shown[key]]
