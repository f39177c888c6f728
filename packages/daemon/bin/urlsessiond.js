#!/usr/bin/env node
import "../dist/urlsessiond.js"
