(function () {
  "use strict";
  function key(cell) {
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw === "") { return null; }
    var number = Number(raw);
    return isNaN(number) ? raw.toLowerCase() : number;
  }
  function compare(a, b) {
    if (typeof a === typeof b) { return a < b ? -1 : (a > b ? 1 : 0); }
    return typeof a === "number" ? -1 : 1;
  }
  function sort(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var column = Number(th.getAttribute("data-col"));
    var state = th.getAttribute("aria-sort");
    var ascending = state === "none" ? !th.classList.contains("num") : state !== "ascending";
    table.querySelectorAll("th[data-col]").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (first, second) {
      var a = key(first.cells[column]);
      var b = key(second.cells[column]);
      if (a === null || b === null) { return (a === null) - (b === null); }  /* missing values last */
      return ascending ? compare(a, b) : compare(b, a);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th[data-col]").forEach(function (th) {
    th.addEventListener("click", function () { sort(th); });
    th.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(th); }
    });
  });
}());
