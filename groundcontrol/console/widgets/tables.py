"""A DataTable that is updated in place from views: new keys add rows, changed cells are set.

A table may show only some of its columns (``show_columns``): every view's cells are kept for
all of them, so a table that narrows or widens rebuilds its columns from what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist

__all__ = ["ViewTable"]

V = TypeVar("V")
Cells = tuple[Text, ...]


class ViewTable(DataTable[Text], Generic[V]):
    """Rows keyed by a view's key; only cells whose text or style changed are redrawn.

    Args:
        columns: ``(key, label)`` of every column, in the order they are shown.
        key: a view's row key.
        cells: a view's cells, one per column.
        id: the widget's id.
        **options: passed on to ``DataTable`` (``fixed_columns``, ``cell_padding`` ...).
    """

    ALLOW_MAXIMIZE = True

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        key: Callable[[V], str],
        cells: Callable[[V], Cells],
        *,
        id: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, **options)
        self._column_defs = tuple(columns)
        self._labels = dict(self._column_defs)
        self._rank = {k: i for i, (k, _) in enumerate(self._column_defs)}
        """Where each column goes, left to right (``order_columns`` changes it)."""
        self._visible: tuple[str, ...] = tuple(k for k, _ in self._column_defs)
        self._widths: dict[str, int] = {}
        self._key = key
        self._cells = cells
        self._shown: dict[str, Cells] = {}
        self.views: dict[str, V] = {}
        self.cell_updates = 0

    def on_mount(self) -> None:
        self._add_columns()

    @property
    def visible_columns(self) -> tuple[str, ...]:
        """Keys of the columns on screen, in order."""
        return self._visible

    def _add_columns(self) -> None:
        for column_key in self._visible:
            self.add_column(
                self.column_label(column_key, self._labels[column_key]),
                key=column_key,
                width=self._widths.get(column_key),
            )

    def column_label(self, column_key: str, label: str) -> str | Text:
        """The header of a column (a hook for subclasses that pad or justify it)."""
        return label

    def shown_cell(self, column_key: str, cell: Text) -> Text:
        """A cell as put in the table (a hook for subclasses that pad it)."""
        return cell

    def _row_cells(self, cells: Cells) -> list[Text]:
        by_key = dict(zip(self._labels, cells, strict=True))
        return [self.shown_cell(k, by_key[k]) for k in self._visible]

    def order_columns(self, first: Sequence[str]) -> bool:
        """Put the columns ``first`` leftmost, in that order, the others after them as
        defined (a watch of every site shows each order's depot beside its id)."""
        lead = [k for k in first if k in self._rank]
        rest = [k for k, _ in self._column_defs if k not in lead]
        self._rank = {k: i for i, k in enumerate([*lead, *rest])}
        return self.show_columns(self._visible, self._widths)

    def show_columns(self, keys: Sequence[str], widths: Mapping[str, int] | None = None) -> bool:
        """Show only the columns ``keys`` (in the table's order: as defined unless
        ``order_columns`` moved some), ``widths`` fixed where given.

        Rebuilds the table from the cells it holds and keeps the cursor on its row; False when
        nothing changed.
        """
        wanted = set(keys)
        visible = tuple(sorted((k for k in self._rank if k in wanted), key=self._rank.__getitem__))
        new_widths = dict(widths or {})
        if visible == self._visible and new_widths == self._widths:
            return False
        selected = self.selected_key
        self._visible, self._widths = visible, new_widths
        if not self.is_mounted:
            return True
        self.clear(columns=True)
        self._add_columns()
        for row_key, cells in self._shown.items():
            self.add_row(*self._row_cells(cells), key=row_key)
        if selected is not None:
            self.select_key(selected)
        return True

    def update_views(self, views: Sequence[V]) -> None:
        for view in views:
            key = self._key(view)
            self.views[key] = view
            cells = self._cells(view)
            old = self._shown.get(key)
            if old is None:
                self.add_row(*self._row_cells(cells), key=key)
            else:
                self._update_row(key, cells, old)
            self._shown[key] = cells

    def _update_row(self, key: str, cells: Cells, old: Cells) -> None:
        for (column_key, _), new_cell, old_cell in zip(self._column_defs, cells, old, strict=True):
            if column_key not in self._visible:
                continue
            if new_cell.plain != old_cell.plain or new_cell.style != old_cell.style:
                # Growing a column re-lays out the screen: only when the text needs it.
                column = self.columns[ColumnKey(column_key)]
                grow = column.auto_width and new_cell.cell_len > column.content_width
                self.update_cell(
                    key, column_key, self.shown_cell(column_key, new_cell), update_width=grow
                )
                self.cell_updates += 1

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
        """The plain text of a row, every column whether shown or not (for tests)."""
        return [cell.plain for cell in self._shown[key]]

    def cell_text(self, key: str, column_key: str) -> str:
        """The plain text of one cell, shown or not (for tests)."""
        index = [k for k, _ in self._column_defs].index(column_key)
        return self._shown[key][index].plain
