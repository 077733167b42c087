"""Invoices for purchased credits, and the payments that settle them.

A PURCHASED_CREDIT_INVOICED top-up writes a pending credit and a finalized invoice; paying the
invoice completes the credit exactly once, voiding it fails the credit.
"""
