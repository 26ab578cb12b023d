"""The data tracker (情報提供等記録): who used a person's data, when, for what and on what basis.

A provider's gateway records every answer that carries a person's data and forwards the
records to the platform in signed batches; the person sees them on their portal, the
provider's auditors through the API.  The data itself is never recorded.
"""
