/*
 * format_writer.c — the table of file formats (see format_writer.h).
 */
#include "adapters/btexport.h"

#include "adapters/format_writer.h"

static const BtxFormat *const formats[] = {&BtxFormatJsonl, &BtxFormatParquet};

const BtxFormat *
BtxFormatLookup(const char *name)
{
	int			i;

	for (i = 0; i < (int) lengthof(formats); i++)
		if (name != NULL && strcmp(formats[i]->name, name) == 0)
			return formats[i];
	/* an Iceberg table's files are Parquet (written by run/sink_iceberg.c, not by this table) */
	if (name != NULL && strcmp(name, "iceberg") == 0)
		return &BtxFormatParquet;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown format \"%s\"", name ? name : ""),
			 errhint("Use jsonl (JSON Lines), parquet or iceberg.")));
	pg_unreachable();
}
