/* The pipeline board: native HTML5 drag and drop of opportunity cards between stage columns.
 *
 * A drop moves the card at once and posts the move with htmx (already on the page). The server answers
 * a message for #board-status plus the columns concerned, re-rendered from the database (out-of-band
 * swaps), so a refused move snaps back by itself; a deal dropped on "Closed lost" comes back with a
 * dialog asking for the reason. Each card's "Move to…" menu does the same without dragging, and
 * without JavaScript at all.
 */
(function () {
  "use strict";

  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest(".board-column") : null;
  }

  function clearHighlights() {
    document.querySelectorAll(".board-column.is-over").forEach(function (column) {
      column.classList.remove("is-over");
    });
  }

  function boardValues() {
    var values = {};
    var filters = document.getElementById("board-filters");
    if (filters) {
      new FormData(filters).forEach(function (value, key) {
        values[key] = value;
      });
    }
    return values;
  }

  function move(card, stage) {
    var values = boardValues();
    values.stage = stage;
    values.from_stage = card.dataset.stage;
    window.htmx.ajax("POST", card.dataset.moveUrl, {
      source: card,
      target: "#board-status",
      swap: "innerHTML",
      values: values,
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".opp-card") : null;
    if (!card || !card.dataset.moveUrl) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
    // Dim the card after the browser has taken its picture for the drag image.
    window.setTimeout(function () {
      card.classList.add("is-dragging");
    }, 0);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    clearHighlights();
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault(); // this column accepts the drop
    var same = column.dataset.stage === dragged.dataset.stage;
    event.dataTransfer.dropEffect = same ? "none" : "move";
    if (!same && !column.classList.contains("is-over")) {
      clearHighlights();
      column.classList.add("is-over");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("is-over");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    clearHighlights();
    var card = dragged;
    var stage = column.dataset.stage;
    if (stage === card.dataset.stage) return;
    var list = column.querySelector(".board-cards");
    if (list) list.prepend(card);
    card.classList.remove("is-dragging");
    card.classList.add("is-pending");
    move(card, stage);
  });

  // A refused move (400, 403, 404) still carries the message and the columns as they really are.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var status = event.detail.xhr.status;
    if (target && target.id === "board-status" && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The server could not be reached or failed: say so and show the board as it is.
  function failed(event) {
    var target = event.detail.target;
    if (!target || target.id !== "board-status") return;
    target.innerHTML = '<div class="message message-error">The move could not be saved. The board shows what is stored.</div>';
    if (document.getElementById("board-area")) {
      window.htmx.ajax("GET", window.location.href, { target: "#board-area", swap: "outerHTML" });
    }
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);

  // After a move: focus the card where it landed (keyboard users keep their place), open the
  // lost-reason dialog when the answer brought one.
  document.addEventListener("htmx:afterSettle", function () {
    var marker = document.querySelector("#board-status [data-focus]");
    if (marker) {
      var card = document.getElementById(marker.getAttribute("data-focus"));
      marker.removeAttribute("data-focus");
      if (card) {
        card.classList.add("is-moved");
        var link = card.querySelector(".opp-card-name");
        if (link) link.focus({ preventScroll: false });
      }
    }
    var dialog = document.querySelector("#board-dialog dialog[data-autoopen]");
    if (dialog && !dialog.open) {
      dialog.removeAttribute("data-autoopen");
      dialog.showModal();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-close-dialog]") : null;
    if (button) {
      var dialog = button.closest("dialog");
      if (dialog) dialog.close();
    }
  });
})();
