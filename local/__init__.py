"""Developer tooling, never deployed: emulators, the local pipeline, push relay, the sensor fleet.

Not deployed and not used by operators: the Cloud Functions archive holds only main.py,
requirements.txt and functions/; the operator CLI lives in dt_bigquery_ops/.
"""
