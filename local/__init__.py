"""Developer and operator tools: emulators, the local pipeline, the sensor fleet, the ops CLI.

Not deployed: the Cloud Functions archive holds only main.py, requirements.txt and functions/.
"""
