// Moderator console: keyboard shortcuts and swapping the next comment in without a page load.
// No inline scripts anywhere: the Content-Security-Policy only allows this file.
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var list = document.getElementById("queue-list");
  var panel = document.getElementById("card-panel");
  var help = document.getElementById("help");
  var picker = document.getElementById("reason-picker");
  var notices = document.getElementById("notices");
  var busy = false;

  function notify(message, ok) {
    if (!message || !notices) return;
    var p = document.createElement("p");
    p.className = "notice " + (ok ? "notice-info" : "notice-error");
    p.textContent = message; // textContent: server messages can quote user names
    notices.replaceChildren(p);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "X-Requested-With": "fetch"}
    });
  }

  function rows() { return list ? Array.prototype.slice.call(list.querySelectorAll("li.row")) : []; }
  function current() { return list ? list.querySelector("li.row.is-focused") : null; }
  function card() { return panel ? panel.querySelector("article.card") : null; }

  function claim() {
    var c = card();
    if (!c || c.dataset.status !== "pending" || !c.dataset.claimUrl || !document.querySelector("form.decision")) return;
    post(c.dataset.claimUrl, new FormData()).then(function (res) {
      if (res.status === 409) return res.json().then(function (b) { notify(b.message, false); });
    }).catch(function () {});
  }

  function loadCard(row) {
    return fetch(row.dataset.cardUrl, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        return res.text();
      })
      .then(function (html) {
        // Server-rendered and escaped by Jinja; scripts in it would not run (and there are none).
        panel.innerHTML = html;
        claim();
      })
      .catch(function () { window.location.assign(row.querySelector("a.row-link").href); });
  }

  function focusRow(row, load) {
    if (!row) return Promise.resolve();
    rows().forEach(function (r) { r.classList.remove("is-focused"); });
    row.classList.add("is-focused");
    row.scrollIntoView({block: "nearest"});
    if (load && (!card() || card().dataset.id !== row.dataset.id)) return loadCard(row);
    return Promise.resolve();
  }

  function move(step) {
    var all = rows();
    var index = all.indexOf(current());
    var next = all[Math.min(all.length - 1, Math.max(0, index + step))];
    if (next && next !== current()) focusRow(next, true);
  }

  function nextOpen(row) {
    var all = rows();
    for (var i = all.indexOf(row) + 1; i < all.length; i++) if (!all[i].classList.contains("is-done")) return all[i];
    for (var j = 0; j < all.length; j++) if (!all[j].classList.contains("is-done")) return all[j];
    return null;
  }

  function finishRow(id, label) {
    var row = list ? list.querySelector('li.row[data-id="' + id + '"]') : null;
    if (!row) return;
    row.classList.add("is-done");
    var box = row.querySelector("input.select");
    if (box) { box.checked = false; box.disabled = true; }
    row.querySelector(".row-done").textContent = label;
    var next = nextOpen(row);
    if (next) focusRow(next, true);
    else panel.replaceChildren(Object.assign(document.createElement("p"), {className: "empty", textContent: panel.dataset.doneText || "✓"}));
    updateSelected();
  }

  function submitAct(form, submitter) {
    if (busy) return;
    busy = true;
    var data = new FormData(form, submitter || undefined);
    var id = card() ? card().dataset.id : null;
    post(form.getAttribute("action"), data).then(function (res) {
      return res.json().then(function (body) { return {res: res, body: body}; });
    }).then(function (r) {
      if (form.dataset.act === "reveal") {
        if (r.body.ok) { form.closest(".author").querySelector("[data-email] bdi").textContent = r.body.email; form.remove(); }
        else notify(r.body.message, false);
        return;
      }
      notify(r.body.message, r.body.ok);
      if (r.body.ok && list) finishRow(id, r.body.message);
      else if (r.res.status === 409 && current()) loadCard(current());
      else if (r.body.ok) window.location.reload();
    }).catch(function () {
      notify(document.documentElement.lang === "en" ? "Network error: try again." : "Erreur réseau : réessayez.", false);
    }).then(function () { busy = false; });
  }

  function act(action, reason) {
    var form = panel && panel.querySelector("form.decision");
    var button = form && form.querySelector('button[name="action"][data-key="' + action + '"]');
    if (!button) return;
    if (reason) form.querySelector('select[name="reason"]').value = reason;
    submitAct(form, button);
  }

  function toggle(overlay, show) {
    if (!overlay) return;
    overlay.hidden = show === undefined ? !overlay.hidden : !show;
  }

  function updateSelected() {
    var counter = document.querySelector("[data-selected-count]");
    if (counter) counter.textContent = String(document.querySelectorAll("input.select:checked").length);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.act) {
      event.preventDefault();
      submitAct(form, event.submitter);
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-help]")) toggle(help);
    else if (target.closest("[data-close]")) { toggle(help, false); toggle(picker, false); }
    else if (list && target.closest("a.row-link") && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      focusRow(target.closest("li.row"), true);
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("input.select")) updateSelected();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select")) return; // typing a note
    if (picker && !picker.hidden) {
      event.preventDefault();
      if (event.key === "Escape") { toggle(picker, false); return; }
      var choice = picker.querySelectorAll("li[data-reason]")[parseInt(event.key, 10) - 1];
      if (choice) { toggle(picker, false); act("r", choice.dataset.reason); }
      return;
    }
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": act("a"); break;
      case "s": act("s"); break;
      case "r":
        if (panel && panel.querySelector('form.decision button[data-key="r"]')) toggle(picker, true);
        break;
      case "x":
        var box = current() && current().querySelector("input.select:not(:disabled)");
        if (box) { box.checked = !box.checked; updateSelected(); }
        break;
      case "?": toggle(help); break;
      case "Escape": toggle(help, false); break;
      default: return;
    }
    event.preventDefault();
  });

  if (current()) claim();
  updateSelected();
})();
