"""The chart report (`./run report`): one self-contained HTML file from a dataset's views.

command.py is the `report` subcommand, build.py puts the report together, queries.py reads
BigQuery, charts.py draws (Altair → Vega-Lite → SVG, offline), html.py lays the page out.
Nothing heavy is imported until the command runs.
"""
