// Draws the charts of <figure data-chart> elements with the vendored Chart.js.
// The numbers are always in the page as a table: without scripts the table is all there is;
// with them the chart appears and the table folds away behind "Show as table".
(function () {
  if (!window.Chart) return;
  var root = getComputedStyle(document.documentElement);
  var lang = document.documentElement.lang || "en";
  var DAY = 86400000;

  function colour(name) {
    return root.getPropertyValue("--chart-" + name).trim() || root.getPropertyValue("--ink").trim();
  }
  function dayNumber(iso) { return Date.parse(iso + "T00:00:00Z") / DAY; }
  // With the year: a timeline can span a new year, and "Dec 18 → Dec 9" would read backwards.
  function fullDayLabel(number) {
    return new Date(number * DAY).toLocaleDateString(lang, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  }
  // A tick every week, fortnight, month, quarter or half year: at most about 6 ticks.
  function tickStep(span) {
    var steps = [7, 14, 28, 91, 182, 365];
    for (var i = 0; i < steps.length; i++) { if (span / steps[i] <= 6) return steps[i]; }
    return 365 * Math.ceil(span / 365 / 6);
  }

  Chart.defaults.font.family = root.fontFamily;
  Chart.defaults.color = root.getPropertyValue("--ink-soft").trim();
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  // A trend: weekly points, either lines on a 0-100 score axis or stacked bars of account counts
  // (one axis per chart). A week without a score is a gap in the line, never a 0.
  function trend(spec) {
    var scales = { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 } } };
    var datasets = spec.series.map(function (s) {
      var line = s.type === "line";
      scales[s.axis] = scales[s.axis] || (s.axis === "score"
        ? { position: "left", min: 0, max: 100, title: { display: true, text: s.axisTitle || "" } }
        : { position: "right", stacked: true, beginAtZero: true, ticks: { precision: 0 },
            grid: { drawOnChartArea: false }, title: { display: true, text: s.axisTitle || "" } });
      return {
        type: s.type, label: s.label, data: s.data, yAxisID: s.axis, order: line ? 0 : 1,
        borderColor: colour(s.colour), backgroundColor: colour(s.colour), borderWidth: line ? 2.5 : 0,
        pointRadius: line ? 3 : 0, spanGaps: false, stack: line ? undefined : "bands",
        pointBackgroundColor: s.bands ? s.bands.map(function (b) { return colour(b || "none"); }) : colour(s.colour),
      };
    });
    return {
      type: "bar",
      data: { labels: spec.days.map(function (d) { return fullDayLabel(dayNumber(d)); }), datasets: datasets },
      options: { scales: scales, interaction: { mode: "index", intersect: false } },
    };
  }

  // Onboarding milestones: where each was planned, when it was done, and how late it is.
  function timeline(spec) {
    var today = dayNumber(spec.today);
    var names = spec.milestones.map(function (m) { return m.name; });
    var spans = [], spanColours = [], planned = [], done = [], all = [], open = false;
    spec.milestones.forEach(function (m) {
      var plan = m.planned ? dayNumber(m.planned) : null;
      var end = m.done ? dayNumber(m.done) : (m.late ? today : null);
      if (plan !== null && end !== null) {
        spans.push({ x: [Math.min(plan, end), Math.max(plan, end)], y: m.name });
        spanColours.push(colour(end > plan ? "red" : "green"));
      }
      if (plan !== null) { planned.push({ x: plan, y: m.name }); all.push(plan); }
      if (m.done) { done.push({ x: dayNumber(m.done), y: m.name }); all.push(dayNumber(m.done)); } else { open = true; }
    });
    // The axis fits the milestones; today joins it only while a milestone is still open.
    if (open || !all.length) all.push(today);
    var first = Math.min.apply(null, all), last = Math.max.apply(null, all);
    var pad = Math.max(3, Math.round((last - first) * 0.04));
    var showToday = today >= first - pad && today <= last + pad;
    return {
      type: "bar",
      data: {
        labels: names,
        datasets: [
          { label: spec.text.gap, data: spans, backgroundColor: spanColours, barPercentage: 0.35, order: 2 },
          { type: "scatter", label: spec.text.planned, data: planned, pointStyle: "rectRot", pointRadius: 7,
            backgroundColor: "#fff", borderColor: colour("line"), borderWidth: 2, order: 1 },
          { type: "scatter", label: spec.text.done, data: done, pointStyle: "circle", pointRadius: 6,
            backgroundColor: colour("green"), borderColor: colour("green"), order: 0 },
        ].concat(showToday ? [
          { type: "scatter", label: spec.text.today, data: [{ x: today, y: names[0] }, { x: today, y: names[names.length - 1] }],
            showLine: true, borderColor: colour("today"), borderDash: [4, 4], borderWidth: 1.5, pointRadius: 0, order: 3 },
        ] : []),
      },
      options: {
        indexAxis: "y",
        scales: {
          x: { type: "linear", beginAtZero: false, min: first - pad, max: last + pad,
               ticks: { callback: fullDayLabel, stepSize: tickStep(last - first + 2 * pad), maxRotation: 0, autoSkip: true } },
          // On a phone long milestone names are shortened (the tooltip and the table keep them whole).
          y: { type: "category", grid: { display: false }, ticks: { callback: function (value) {
            var name = this.getLabelForValue(value), max = this.chart.width < 520 ? 10 : 40;
            return name.length > max ? name.slice(0, max - 1) + "…" : name;
          } } },
        },
        plugins: {
          tooltip: { callbacks: { label: function (item) {
            var x = item.raw.x;
            var text = Array.isArray(x) ? fullDayLabel(x[0]) + " – " + fullDayLabel(x[1]) : fullDayLabel(x);
            return item.dataset.label + ": " + text;
          } } },
        },
      },
    };
  }

  var builders = { trend: trend, timeline: timeline };
  document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
    var spec = JSON.parse(figure.querySelector("script.chart__data").textContent);
    var box = figure.querySelector(".chart__canvas");
    box.hidden = false;
    if (box.dataset.height) box.style.height = box.dataset.height + "px";  // CSSOM: allowed by the CSP, unlike style=""
    new Chart(box.querySelector("canvas"), builders[figure.dataset.chart](spec));
    var table = figure.querySelector("details.chart__table");
    if (table) table.open = false;
  });
})();
