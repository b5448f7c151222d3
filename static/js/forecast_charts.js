/* The forecast dashboards' charts (plotly, served from the plotly package): the fan chart of a forecast
   with its 80 % and 95 % bands against actuals, next fiscal year by month, bars per category, region or rep
   (a click opens the series), and the accuracy of past runs. Data comes from json_script blocks named by
   each chart's data-source; every chart has a table of the same figures for screen readers and for pages
   without JavaScript. */
(function () {
  "use strict";

  var BLUE = "#2454d6";
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
  };
  var RUN_COLORS = ["#2454d6", "#a86200", "#1f8a4c", "#8e44ad", "#c23030", "#647087", "#0d7c8c", "#b0507a"];

  function layout(currency, extra) {
    var base = {
      height: 340,
      margin: { l: 70, r: 16, t: 8, b: 44 },
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1c2433" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      legend: { orientation: "h", x: 0, y: 1.14 },
      yaxis: { tickformat: "~s", ticksuffix: currency ? " " + currency : "", gridcolor: "#e3e8f0", zerolinecolor: "#cfd6e3", rangemode: "tozero" },
      xaxis: { automargin: true, gridcolor: "#f0f2f7" },
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#cfd6e3", font: { color: "#1c2433" } },
    };
    return Object.assign(base, extra || {});
  }

  function read(el) {
    var source = document.getElementById(el.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }

  function money(currency) {
    return "%{y:,.0f} " + currency;
  }

  function fanChart(el, d) {
    var f = d.forecast;
    var h = d.history;
    // The forecast starts from the last actual month so the line and the bands join the history.
    var join = h.x.length ? [h.x[h.x.length - 1]] : [];
    var joinY = h.y.length ? [h.y[h.y.length - 1]] : [];
    function withJoin(values) { return joinY.concat(values); }
    var x = join.concat(f.x);
    var traces = [
      { x: x, y: withJoin(f.lo95), type: "scatter", mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false },
      { x: x, y: withJoin(f.hi95), type: "scatter", mode: "lines", line: { width: 0 }, fill: "tonexty",
        fillcolor: "rgba(36, 84, 214, 0.12)", name: "95 % interval", hoverinfo: "skip" },
      { x: x, y: withJoin(f.lo80), type: "scatter", mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false },
      { x: x, y: withJoin(f.hi80), type: "scatter", mode: "lines", line: { width: 0 }, fill: "tonexty",
        fillcolor: "rgba(36, 84, 214, 0.24)", name: "80 % interval", hoverinfo: "skip" },
      { x: h.x, y: h.y, type: "scatter", mode: "lines", name: "Actual", line: { color: "#1c2433", width: 2 },
        hovertemplate: "%{x|%b %Y}<br>Actual " + money(d.currency) + "<extra></extra>" },
      { x: x, y: withJoin(f.y), type: "scatter", mode: "lines", name: "Forecast",
        line: { color: BLUE, width: 2.5, dash: "dash" },
        customdata: [[null, null, null, null]].concat(f.y.map(function (_, i) { return [f.lo80[i], f.hi80[i], f.lo95[i], f.hi95[i]]; })),
        hovertemplate: "%{x|%b %Y}<br>Forecast " + money(d.currency) +
          "<br>80 %: %{customdata[0]:,.0f} – %{customdata[1]:,.0f}<br>95 %: %{customdata[2]:,.0f} – %{customdata[3]:,.0f}<extra></extra>" },
    ];
    if (d.actual.x.length) {
      traces.push({ x: d.actual.x, y: d.actual.y, type: "scatter", mode: "markers", name: "Actual since the forecast",
        marker: { color: "#1f8a4c", size: 8, symbol: "circle" },
        hovertemplate: "%{x|%b %Y}<br>Actual " + money(d.currency) + "<extra></extra>" });
    }
    Plotly.newPlot(el, traces, layout(d.currency, { xaxis: { type: "date", tickformat: "%b %Y", automargin: true, gridcolor: "#f0f2f7" } }), CONFIG);
  }

  function monthsChart(el, d) {
    var traces = [
      { x: d.x, y: d.forecast, type: "bar", name: "Forecast", marker: { color: "rgba(36, 84, 214, 0.8)" },
        error_y: { type: "data", symmetric: false, array: d.hi80, arrayminus: d.lo80, color: "#1b41a8", thickness: 1.2, width: 4 },
        hovertemplate: "%{x}<br>Forecast " + money(d.currency) + "<extra></extra>" },
    ];
    if (d.year_ago.some(function (v) { return v !== null; })) {
      traces.push({ x: d.x, y: d.year_ago, type: "scatter", mode: "markers", name: "Same month a year before",
        marker: { color: "#647087", size: 9, symbol: "diamond" },
        hovertemplate: "%{x}<br>A year before " + money(d.currency) + "<extra></extra>" });
    }
    Plotly.newPlot(el, traces, layout(d.currency, { bargap: 0.3 }), CONFIG);
  }

  function barsChart(el, d) {
    var n = d.labels.length;
    var traces = [
      { y: d.labels, x: d.forecast, type: "bar", orientation: "h", name: "Next fiscal year",
        marker: { color: "rgba(36, 84, 214, 0.8)" },
        error_x: { type: "data", symmetric: false, array: d.hi80, arrayminus: d.lo80, color: "#1b41a8", thickness: 1.2, width: 3 },
        hovertemplate: "%{y}<br>%{x:,.0f} " + d.currency + " (click to open)<extra></extra>" },
    ];
    if (d.current.some(function (v) { return v !== null; })) {
      traces.push({ y: d.labels, x: d.current, type: "scatter", mode: "markers", name: "This fiscal year",
        marker: { color: "#647087", size: 9, symbol: "diamond" },
        hovertemplate: "%{y}<br>This year %{x:,.0f} " + d.currency + "<extra></extra>" });
    }
    var base = layout(d.currency, {
      height: Math.max(220, 60 + n * 26),
      margin: { l: 10, r: 16, t: 8, b: 40 },
      yaxis: { autorange: "reversed", automargin: true },
      xaxis: { tickformat: "~s", ticksuffix: " " + d.currency, gridcolor: "#e3e8f0", rangemode: "tozero" },
    });
    Plotly.newPlot(el, traces, base, CONFIG).then(function () {
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point && d.urls[point.pointIndex]) window.location.href = d.urls[point.pointIndex];
      });
    });
  }

  function accuracyChart(el, d) {
    var traces = [];
    d.runs.forEach(function (run, i) {
      traces.push({ x: run.x, y: run.total_ape, type: "scatter", mode: "lines+markers", name: run.label,
        line: { color: RUN_COLORS[i % RUN_COLORS.length], width: 2 },
        hovertemplate: "%{x|%b %Y}<br>Total off by %{y:.1f} %<extra>" + run.label + "</extra>" });
    });
    Plotly.newPlot(el, traces, layout("", {
      yaxis: { ticksuffix: " %", gridcolor: "#e3e8f0", rangemode: "tozero", title: { text: "Total: error in %" } },
      xaxis: { type: "date", tickformat: "%b %Y", automargin: true },
      legend: { orientation: "h", x: 0, y: -0.2 },
      margin: { l: 70, r: 16, t: 8, b: 60 },
    }), CONFIG);
  }

  var CHARTS = { fan: fanChart, months: monthsChart, bars: barsChart, accuracy: accuracyChart };

  function draw() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll("[data-forecast-chart]").forEach(function (el) {
      var d = read(el);
      var chart = CHARTS[el.dataset.forecastChart];
      if (d && chart) {
        el.classList.add("fc-chart-drawn");
        chart(el, d);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
