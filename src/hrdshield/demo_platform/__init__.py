"""A small simulated social platform, so detection and protective actions need no outside service.

Everything here is synthetic public-platform content: fictional handles, invented sentences, phone
numbers in ranges reserved for fiction and phishing links on reserved domains. It must never hold
real people's data, and it is not field-encrypted because it holds nothing personal.
"""
