"""The public service mesh (公共サービスメッシュ): organisations exchange data through it."""
