// kafka-trial report: timeline canvas and paged op table, drawn from the
// JSON embedded in #kt-data. Untrusted text only ever goes through
// textContent, never innerHTML.
(function () {
  "use strict";
  var el = document.getElementById("kt-data");
  if (!el) return;
  var D;
  try { D = JSON.parse(el.textContent); } catch (e) { console.error(e); return; }
  // op row: [lane, f, outcome, start µs, end µs | -1, invoke, completion | -1, value, error]
  var OPS = D.ops, END = Math.max(D.end, 1), LANES = D.lanes, FS = D.fs;
  var OC = D.colors.outcome, OCN = ["ok", "fail", "info", "never completed"];
  var LANE_H = 16, AXIS_H = 28;
  // A long history (D.agg): OPS holds runs of ops ([..., "N ops", "", N])
  // and the ops anomalies name; the detail comes from `kafka-trial serve`
  // (`_ops` beside the report) when the page is served.
  var AGG = !!D.agg, TOTAL = D.total || OPS.length;
  var SERVED = /^https?:$/.test(location.protocol);
  var BASE = location.pathname.replace(/[^\/]*$/, "");
  var DETAIL_OPS = 40000;

  // Per lane: op positions by start, and the running max of ends (so a
  // binary search finds the first op that reaches into the view).
  function indexOps(ops) {
    var ls = LANES.map(function () { return { ops: [], maxEnd: [] }; });
    ops.forEach(function (o, i) { if (ls[o[0]]) ls[o[0]].ops.push(i); });
    ls.forEach(function (l) {
      l.ops.sort(function (a, b) { return ops[a][3] - ops[b][3]; });
      var m = -Infinity;
      l.ops.forEach(function (i) { m = Math.max(m, endOf(ops[i])); l.maxEnd.push(m); });
    });
    return { ops: ops, lanes: ls };
  }
  var MAIN = indexOps(OPS), DET = null;
  // The ops drawn now: the fetched detail when it covers the view.
  function src() { return DET && DET.t0 <= view.t0 && DET.t1 >= view.t1 ? DET : MAIN; }
  // Any op index (invocation or completion) → position in OPS.
  var byIndex = new Map();
  OPS.forEach(function (o, i) { if (o.length > 9) return; byIndex.set(o[5], i); if (o[6] >= 0) byIndex.set(o[6], i); });
  // Nemesis ops take their fault's colour.
  var faultColor = {};
  D.faults.forEach(function (f) { faultColor[f[0]] = f[3]; });

  function endOf(o) { return o[4] >= 0 ? o[4] : END; }
  function fmtS(us) { return (us / 1e6).toFixed(3); }
  function fmtMs(us) { return (us / 1e3).toFixed(us < 10000 ? 3 : 1); }
  function opColor(o) {
    if (D.nemesis[o[0]]) {
      var f = FS[o[1]], k = f.replace(/^(start|stop)-/, "");
      if (faultColor[k]) return faultColor[k];
    }
    return OC[o[2]];
  }
  function describe(o) {
    if (o.length > 9 && o[9] > 1) return o[9] + " ops of process " + LANES[o[0]] + " (ops " + o[5] + "–" + o[6] + "), mostly " + FS[o[1]] + ", worst outcome " + OCN[o[2]] +
      "\n" + fmtS(o[3]) + "–" + fmtS(o[4]) + " s" + (SERVED ? "\nzoom in for each op" : "\nopen the report with kafka-trial serve for each op");
    var s = "op " + o[5] + (o[6] >= 0 && o[6] !== o[5] ? " → " + o[6] : "") +
      "  process " + LANES[o[0]] + "  " + FS[o[1]] + "  " + OCN[o[2]] +
      "\nstart " + fmtS(o[3]) + " s" + (o[4] >= 0 ? "  latency " + fmtMs(o[4] - o[3]) + " ms" : "  (never completed)");
    if (o[7]) s += "\nvalue " + o[7];
    if (o[8]) s += "\nerror " + o[8];
    return s;
  }

  // ---------------- timeline ----------------
  var cv = document.getElementById("tl-canvas");
  var tip = document.getElementById("tl-tip");
  var detail = document.getElementById("tl-detail");
  var rangeEl = document.getElementById("tl-range");
  var view = { t0: 0, t1: END * 1.01 };
  var selected = -1;

  function width() { return cv.clientWidth || 800; }
  function x(t) { return (t - view.t0) / (view.t1 - view.t0) * width(); }
  function tAt(px) { return view.t0 + px / width() * (view.t1 - view.t0); }

  function niceStep(span, px) {
    var raw = span / Math.max(1, px / 90), p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  function firstVisible(l, t0) {
    var lo = 0, hi = l.maxEnd.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (l.maxEnd[mid] < t0) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function draw() {
    if (!cv) return;
    var dpr = window.devicePixelRatio || 1, W = width(), H = AXIS_H + LANES.length * LANE_H + 2;
    cv.style.height = H + "px";
    cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);
    var g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    g.font = "11px sans-serif";
    // lane stripes
    for (var li = 0; li < LANES.length; li++) {
      if (li % 2) { g.fillStyle = "#f7f7f9"; g.fillRect(0, AXIS_H + li * LANE_H, W, LANE_H); }
    }
    // fault bands and their labels
    D.faults.forEach(function (f) {
      var a = Math.max(0, x(f[1])), b = Math.min(W, x(f[2]));
      if (b < 0 || a > W) return;
      g.globalAlpha = 0.16; g.fillStyle = f[3]; g.fillRect(a, AXIS_H - 12, Math.max(1, b - a), H - AXIS_H + 12);
      g.globalAlpha = 1; g.fillRect(a, AXIS_H - 12, Math.max(1, b - a), 2);
      g.save(); g.beginPath(); g.rect(a, 0, Math.max(1, b - a), AXIS_H); g.clip();
      g.fillStyle = f[3]; g.font = "bold 11px sans-serif";
      g.fillText(f[0] + (f[4] ? "" : " (not stopped)"), a + 3, AXIS_H - 2);
      g.restore();
    });
    // time axis
    var span = view.t1 - view.t0, step = niceStep(span, W);
    g.fillStyle = "#555"; g.strokeStyle = "#e4e4e4"; g.font = "11px sans-serif";
    for (var t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      var px = Math.round(x(t)) + 0.5;
      g.beginPath(); g.moveTo(px, 12); g.lineTo(px, H); g.stroke();
      g.fillText((t / 1e6).toFixed(step < 1e6 ? (step < 1e5 ? 3 : 1) : 0) + " s", px + 2, 10);
    }
    g.strokeStyle = "#ccc"; g.beginPath(); g.moveTo(0, AXIS_H + 0.5); g.lineTo(W, AXIS_H + 0.5); g.stroke();
    // ops
    var S = src();
    for (li = 0; li < LANES.length; li++) {
      var l = S.lanes[li], y = AXIS_H + li * LANE_H + 2;
      for (var k = firstVisible(l, view.t0); k < l.ops.length; k++) {
        var o = S.ops[l.ops[k]];
        if (o[3] > view.t1) break;
        var a = x(o[3]), b = x(endOf(o)), w = Math.max(1, b - a);
        g.fillStyle = opColor(o);
        g.globalAlpha = o[2] === 3 ? 0.5 : 0.9;
        g.fillRect(a, y, w, LANE_H - 4);
        if (w > 44) {
          g.globalAlpha = 1; g.fillStyle = "#fff"; g.font = "10px sans-serif";
          g.save(); g.beginPath(); g.rect(a, y, w, LANE_H - 4); g.clip();
          g.fillText(FS[o[1]], a + 3, y + LANE_H - 7); g.restore();
        }
      }
    }
    g.globalAlpha = 1;
    // Fault edges on top: dense lanes hide the shaded bands behind them.
    g.setLineDash([4, 3]); g.lineWidth = 1.5;
    D.faults.forEach(function (f) {
      g.strokeStyle = f[3];
      [x(f[1]), x(f[2])].forEach(function (px) {
        if (px < 0 || px > W) return;
        g.beginPath(); g.moveTo(Math.round(px) + 0.5, AXIS_H - 12); g.lineTo(Math.round(px) + 0.5, H); g.stroke();
      });
    });
    g.setLineDash([]); g.lineWidth = 1;
    if (selected >= 0) {
      var s = OPS[selected], sa = x(s[3]), sb = x(endOf(s));
      g.strokeStyle = "#000"; g.lineWidth = 2;
      g.strokeRect(sa - 2, AXIS_H + s[0] * LANE_H, Math.max(1, sb - sa) + 4, LANE_H);
      g.lineWidth = 1;
    }
    if (rangeEl) rangeEl.textContent = fmtS(view.t0) + "–" + fmtS(view.t1) + " s of " + fmtS(END) + " s";
    if (AGG) wantDetail();
  }

  // Fetch every op of the view from serve once it holds few enough ops.
  var detState = document.getElementById("tl-detail-state"), pending = null, timer = 0;
  function detailNote(t) { if (detState) detState.textContent = t; }
  function wantDetail() {
    if (!SERVED) { detailNote("(opened as a file: aggregates only)"); return; }
    if (src() === DET) { detailNote("showing every op of this window"); return; }
    var est = TOTAL * (view.t1 - view.t0) / END;
    if (est > DETAIL_OPS) { detailNote("zoom in to about " + Math.max(1, Math.round((view.t1 - view.t0) * DETAIL_OPS / est / 1e6)) + " s to see every op"); return; }
    var span = view.t1 - view.t0, t0 = Math.max(0, Math.floor(view.t0 - span / 2)), t1 = Math.ceil(view.t1 + span / 2);
    if (pending && pending.t0 <= view.t0 && pending.t1 >= view.t1) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      var req = pending = { t0: t0, t1: t1 };
      detailNote("fetching every op of the window…");
      fetch(BASE + "_ops?t0=" + t0 + "&t1=" + t1).then(function (r) { return r.json(); }).then(function (j) {
        if (pending !== req) return;
        pending = null;
        if (j.error) { detailNote(j.error); return; }
        var ops = j.ops.map(function (r) {
          var lane = LANES.indexOf(r[0]), f = FS.indexOf(r[1]);
          if (f < 0) { FS.push(r[1]); f = FS.length - 1; }
          return [lane, f, r[2], r[3], r[4], r[5], r[6], r[7], r[8]];
        }).filter(function (o) { return o[0] >= 0; });
        DET = indexOps(ops); DET.t0 = req.t0; DET.t1 = req.t1;
        document.body.setAttribute("data-detail", String(ops.length));
        draw();
      }).catch(function (e) { pending = null; detailNote("fetching ops failed: " + e); });
    }, 150);
  }

  function setView(t0, t1) {
    var span = Math.max(t1 - t0, 50), full = END * 1.01;
    if (span > full) span = full;
    t0 = Math.min(Math.max(t0, 0), full - span);
    view.t0 = t0; view.t1 = t0 + span; draw();
  }
  function zoom(f, at) {
    var c = at === undefined ? (view.t0 + view.t1) / 2 : at;
    setView(c - (c - view.t0) * f, c + (view.t1 - c) * f);
  }
  function opAt(px, py) {
    var li = Math.floor((py - AXIS_H) / LANE_H);
    if (li < 0 || li >= LANES.length) return -1;
    var S = src(), l = S.lanes[li], t = tAt(px), slack = 3 * (view.t1 - view.t0) / width(), best = -1;
    for (var k = firstVisible(l, t - slack); k < l.ops.length; k++) {
      var o = S.ops[l.ops[k]];
      if (o[3] > t + slack) break;
      if (endOf(o) >= t - slack) best = l.ops[k];
    }
    return best;
  }
  // Select an op; `focus` zooms the timeline to it and its neighbours
  // (a link was followed), else the view only moves if it is out of sight.
  function select(i, focus) {
    selected = i;
    if (i < 0) return draw();
    var o = OPS[i], pad = Math.max((endOf(o) - o[3]) * 2, 1e6);
    if (focus || o[3] < view.t0 || endOf(o) > view.t1) setView(o[3] - pad, endOf(o) + pad);
    else draw();
    if (detail) {
      detail.textContent = describe(o) + "\n";
      detail.classList.remove("muted");
      var a = document.createElement("a");
      a.href = "#row-" + o[5]; a.textContent = "show in the op table";
      detail.appendChild(a);
    }
    if (focus && cv) cv.scrollIntoView({ block: "center" });
  }

  if (cv) {
    var drag = null;
    cv.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = cv.getBoundingClientRect();
      zoom(e.deltaY > 0 ? 1.25 : 0.8, tAt(e.clientX - r.left));
    }, { passive: false });
    cv.addEventListener("mousedown", function (e) { drag = { x: e.clientX, t0: view.t0, t1: view.t1, moved: false }; cv.classList.add("dragging"); });
    window.addEventListener("mouseup", function (e) {
      if (!drag) return;
      cv.classList.remove("dragging");
      if (!drag.moved) {
        var r = cv.getBoundingClientRect(), S = src(), i = opAt(e.clientX - r.left, e.clientY - r.top);
        if (i >= 0 && S === MAIN && OPS[i].length <= 9) select(i, false);
        else if (i >= 0 && detail) { detail.textContent = describe(S.ops[i]); detail.classList.remove("muted"); }
      }
      drag = null;
    });
    window.addEventListener("mousemove", function (e) {
      var r = cv.getBoundingClientRect();
      if (drag) {
        var dx = e.clientX - drag.x;
        if (Math.abs(dx) > 2) drag.moved = true;
        var dt = dx / width() * (drag.t1 - drag.t0);
        setView(drag.t0 - dt, drag.t1 - dt);
        return;
      }
      var px = e.clientX - r.left, py = e.clientY - r.top;
      if (!tip || px < 0 || py < 0 || px > r.width || py > r.height) { if (tip) tip.hidden = true; return; }
      var i = opAt(px, py);
      if (i < 0) { tip.hidden = true; return; }
      tip.textContent = describe(src().ops[i]);
      tip.hidden = false;
      tip.style.left = Math.min(px + 12, r.width - 300) + "px";
      tip.style.top = (py + 14) + "px";
    });
    document.querySelectorAll("[data-tl]").forEach(function (b) {
      b.addEventListener("click", function () {
        var s = view.t1 - view.t0;
        switch (b.getAttribute("data-tl")) {
          case "prev": setView(view.t0 - s, view.t1 - s); break;
          case "next": setView(view.t0 + s, view.t1 + s); break;
          case "in": zoom(0.5); break;
          case "out": zoom(2); break;
          default: setView(0, END * 1.01);
        }
      });
    });
    var win = document.getElementById("tl-window");
    if (win) win.addEventListener("change", function () {
      var w = Number(win.value) * 1e6;
      if (w > 0) setView(view.t0, view.t0 + w); else setView(0, END * 1.01);
    });
    window.addEventListener("resize", draw);
    draw();
  }

  // ---------------- op table ----------------
  var body = document.getElementById("ops-body");
  var info = document.getElementById("page-info");
  var PAGE = 100, page = 0, rows = null, hl = -1;
  var fp = document.getElementById("flt-process"), ff = document.getElementById("flt-f"), fo = document.getElementById("flt-outcome");
  function opt(sel, v, t) { var o = document.createElement("option"); o.value = v; o.textContent = t; sel.appendChild(o); }
  if (fp) LANES.forEach(function (l, i) { opt(fp, String(i), l); });
  if (ff) FS.forEach(function (f, i) { opt(ff, String(i), f); });
  function filter() {
    var p = fp && fp.value, f = ff && ff.value, oc = fo && fo.value;
    if (!p && !f && !oc) { rows = null; return; }
    rows = [];
    for (var i = 0; i < OPS.length; i++) {
      var o = OPS[i];
      if ((p && o[0] !== +p) || (f && o[1] !== +f) || (oc && o[2] !== +oc)) continue;
      rows.push(i);
    }
  }
  function count() { return AGG ? TOTAL : rows ? rows.length : OPS.length; }
  function at(k) { return rows ? rows[k] : k; }
  function td(tr, text, cls) { var c = document.createElement("td"); c.textContent = text; if (cls) c.className = cls; tr.appendChild(c); return c; }
  // A long history: pages of history lines from serve, by op index.
  var served = null;
  if (AGG) [fp, ff, fo].forEach(function (s) { if (s) s.disabled = true; });
  function renderServed() {
    body.textContent = "";
    if (!SERVED) {
      var e = document.createElement("tr");
      td(e, TOTAL + " ops: open this report with kafka-trial serve for every op (history.jsonl has them all); the ops anomalies name are listed above.").colSpan = 9;
      body.appendChild(e);
      if (info) info.textContent = "";
      return;
    }
    var pages = Math.max(1, Math.ceil(TOTAL / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    var want = page;
    if (info) info.textContent = "page " + (page + 1) + " of " + pages + " (" + TOTAL + " history lines), loading…";
    fetch(BASE + "_ops?first=" + page * PAGE + "&count=" + PAGE).then(function (r) { return r.json(); }).then(function (j) {
      if (want !== page) return;
      body.textContent = "";
      (j.lines || []).forEach(function (r) {
        // [index, time µs, process, type, f, value, error]
        var tr = document.createElement("tr"); tr.id = "row-" + r[0];
        if (r[0] === hl) tr.className = "hl";
        td(tr, String(r[0])); td(tr, ""); td(tr, r[2]); td(tr, r[4]);
        td(tr, r[3], "oc-" + ({ ok: 0, fail: 1, info: 2 }[r[3]] !== undefined ? { ok: 0, fail: 1, info: 2 }[r[3]] : 3));
        td(tr, fmtS(r[1])); td(tr, ""); td(tr, r[5], "val"); td(tr, r[6] || "", "err");
        body.appendChild(tr);
      });
      if (info) info.textContent = "page " + (page + 1) + " of " + pages + " (" + TOTAL + " history lines)";
      document.body.setAttribute("data-table", String(page));
      var r = hl >= 0 && document.getElementById("row-" + hl);
      if (r && served) { r.scrollIntoView({ block: "center" }); served = null; }
    }).catch(function (e) { if (info) info.textContent = "fetching ops failed: " + e; });
  }
  function render() {
    if (!body) return;
    if (AGG) return renderServed();
    var n = count(), pages = Math.max(1, Math.ceil(n / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    body.textContent = "";
    for (var k = page * PAGE; k < Math.min(n, (page + 1) * PAGE); k++) {
      var i = at(k), o = OPS[i], tr = document.createElement("tr");
      tr.id = "row-" + o[5];
      if (i === hl) tr.className = "hl";
      var c = td(tr, ""), a = document.createElement("a");
      a.href = "#t-" + o[5]; a.textContent = String(o[5]); a.title = "show on the timeline"; c.appendChild(a);
      td(tr, o[6] >= 0 && o[6] !== o[5] ? String(o[6]) : "");
      td(tr, LANES[o[0]]); td(tr, FS[o[1]]); td(tr, OCN[o[2]], "oc-" + o[2]);
      td(tr, fmtS(o[3])); td(tr, o[4] >= 0 ? fmtMs(o[4] - o[3]) : "");
      td(tr, o[7], "val"); td(tr, o[8], "err");
      body.appendChild(tr);
    }
    if (!n) { var e = document.createElement("tr"); td(e, "no ops match").colSpan = 9; body.appendChild(e); }
    if (info) info.textContent = "page " + (page + 1) + " of " + pages + " (" + n + " rows)";
  }
  function showRow(i, scroll) {
    fp && (fp.value = ""); ff && (ff.value = ""); fo && (fo.value = ""); rows = null;
    hl = i; page = Math.floor(i / PAGE); render();
    var r = document.getElementById("row-" + OPS[i][5]);
    if (r && scroll) r.scrollIntoView({ block: "center" });
  }
  document.querySelectorAll("[data-page]").forEach(function (b) {
    b.addEventListener("click", function () {
      var d = b.getAttribute("data-page");
      page = d === "first" ? 0 : d === "prev" ? page - 1 : d === "next" ? page + 1 : Infinity;
      if (page === Infinity) page = Math.ceil(count() / PAGE) - 1;
      render();
    });
  });
  [fp, ff, fo].forEach(function (s) { if (s) s.addEventListener("change", function () { filter(); page = 0; render(); }); });
  var go = document.getElementById("goto-op");
  function showServedRow(n) { hl = n; served = true; page = Math.floor(n / PAGE); render(); }
  if (go) go.addEventListener("change", function () {
    if (AGG) return showServedRow(Number(go.value));
    var i = byIndex.get(Number(go.value));
    if (i !== undefined) showRow(i, true);
  });
  render();

  // ---------------- links ----------------
  function onHash() {
    var m = /^#(t|row|op)-(\d+)$/.exec(location.hash);
    if (!m) return;
    var i = byIndex.get(Number(m[2]));
    if (m[1] === "op" && document.getElementById("op-" + m[2])) return; // a static row
    if (AGG && m[1] === "row") { if (i !== undefined) select(i, false); showServedRow(Number(m[2])); return; }
    if (i === undefined) return;
    if (m[1] === "t") select(i, true);
    else { select(i, false); showRow(i, true); }
  }
  window.addEventListener("hashchange", onHash);
  onHash();
  document.body.setAttribute("data-ready", "1");
})();
