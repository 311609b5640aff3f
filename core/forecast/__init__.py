"""Forecasts of net sales per branch and for the whole business, with Nixtla's statsforecast.

- `series`: daily net sales per branch and in total, read from the store;
- `models`: the chosen model, the seasonal-naive baseline, the library's calls;
- `projection`: the rest of the month and the next months, daily and monthly, with
  80% and 95% prediction intervals (the `forecast` export area);
- `anomalies`: branch-days outside the 95% interval of a one-step-ahead forecast;
- `backtest`: the rolling-origin backtest whose figures docs/forecast.md publishes.

statsforecast (and pandas, statsmodels under it) takes seconds to import, so each
module imports it inside the functions that fit: a page that shows no forecast,
or a process that never forecasts, does not pay for it.
"""
