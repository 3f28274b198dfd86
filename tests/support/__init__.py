"""Helpers the tests share: loopback fakes of outside services."""
