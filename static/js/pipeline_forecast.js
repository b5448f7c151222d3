/* The pipeline forecast page's charts (plotly, served from the plotly package): pipeline by stage and
   forecast category as stacked bars, and the weekly snapshots as lines. The data comes from json_script
   blocks; each chart has a table of the same figures beside it for screen readers and for no JavaScript. */
(function () {
  "use strict";

  var COLORS = { commit: "#1f8a4c", best_case: "#2454d6", pipeline: "#9fb3e6", closed_won: "#0d5c30" };
  var CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
  };

  function layout(currency, extra) {
    var base = {
      height: 320,
      margin: { l: 64, r: 12, t: 8, b: 48 },
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1c2433" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      legend: { orientation: "h", x: 0, y: 1.12, traceorder: "normal" },
      yaxis: { tickformat: "~s", ticksuffix: " " + currency, gridcolor: "#e3e8f0", zerolinecolor: "#cfd6e3", rangemode: "tozero" },
      xaxis: { automargin: true },
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#cfd6e3", font: { color: "#1c2433" } },
    };
    return Object.assign(base, extra || {});
  }

  function read(el) {
    var source = document.getElementById(el.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }

  function stageChart(el, d) {
    var traces = d.series.map(function (s) {
      return {
        type: "bar",
        name: s.label,
        x: d.stages,
        y: s.amount,
        marker: { color: COLORS[s.category] },
        customdata: s.count.map(function (count, i) { return [count, s.weighted[i]]; }),
        hovertemplate: "%{x} · " + s.label + "<br>%{y:,.0f} " + d.currency +
          "<br>%{customdata[0]} deals · weighted %{customdata[1]:,.0f}<extra></extra>",
      };
    });
    if (d.won.count) {
      traces.push({
        type: "bar",
        name: "Closed won",
        x: ["Closed won"],
        y: [d.won.amount],
        marker: { color: COLORS.closed_won },
        hovertemplate: "Closed won in the period<br>%{y:,.0f} " + d.currency + "<br>" + d.won.count + " deals<extra></extra>",
      });
    }
    Plotly.newPlot(el, traces, layout(d.currency, { barmode: "stack", bargap: 0.35 }), CONFIG);
  }

  function trendChart(el, d) {
    var traces = d.series.map(function (s) {
      return {
        type: "scatter",
        mode: "lines+markers",
        name: s.label,
        x: d.weeks,
        y: s.amount,
        line: { color: COLORS[s.category], width: 2.5 },
        marker: { size: 6 },
        hovertemplate: "Week of %{x|%-d %b}<br>" + s.label + ": %{y:,.0f} " + d.currency + "<extra></extra>",
      };
    });
    traces.push({
      type: "scatter",
      mode: "lines",
      name: "Weighted",
      x: d.weeks,
      y: d.weighted,
      line: { color: "#647087", width: 1.5, dash: "dot" },
      hovertemplate: "Week of %{x|%-d %b}<br>Weighted: %{y:,.0f} " + d.currency + "<extra></extra>",
    });
    Plotly.newPlot(el, traces, layout(d.currency, { xaxis: { type: "date", tickformat: "%-d %b", automargin: true } }), CONFIG);
  }

  function draw() {
    if (!window.Plotly) return; // the tables below the charts still carry the figures
    document.querySelectorAll(".pl-chart[data-chart]").forEach(function (el) {
      var d = read(el);
      if (!d) return;
      if (el.dataset.chart === "stage") stageChart(el, d);
      if (el.dataset.chart === "trend") trendChart(el, d);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
