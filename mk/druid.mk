# A local single-machine Apache Druid (version pinned in docker-compose.yml), assembled
# from Maven Central on first use and cached in ~/.cache/sales-analytics (outside the repo).
.PHONY: druid-fetch druid-up druid-down druid-status druid-smoke

DRUID_LOCAL := scripts/druid/druid-local

druid-fetch:
	$(DRUID_LOCAL) fetch

druid-up:
	$(DRUID_LOCAL) up

druid-down:
	$(DRUID_LOCAL) down

druid-status:
	$(DRUID_LOCAL) status

druid-smoke: deps
	$(PY) scripts/druid/smoke.py
