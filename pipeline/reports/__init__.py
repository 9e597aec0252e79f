"""Scheduled reports (issue 17): definitions, rendering to HTML / PDF / CSV and runs into a folder."""
