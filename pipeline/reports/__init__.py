"""Scheduled reports (issue 17): definitions, rendering to HTML / PDF / CSV, runs into a folder, webhook and email delivery."""
