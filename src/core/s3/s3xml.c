/*
 * s3xml.c — XML response parsers for S3 and STS (see s3xml.h).
 *
 * Design: every body is untrusted: read_doc parses it with the network,
 * entities and DTDs off and refuses any document with a DTD; the parsers
 * then look elements up by local name only (namespaces and order vary
 * between S3, S3-compatible stores and STS) and copy text out into malloc'd
 * or fixed-size fields, so no libxml2 object outlives a call.  Listings
 * share one reader (read_list) and grow their item arrays one entry at a
 * time.
 */
#include "core/s3/s3xml.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/common/btx_buf.h"
#include "core/http/http.h"

#define PARSE_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

/* parse untrusted bytes; refuse anything carrying a DTD (no entities at all) */
static xmlDocPtr
read_doc(const char *xml, size_t len)
{
	xmlDocPtr	doc;

	if (xml == NULL || len == 0 || len > (size_t) INT_MAX)
		return NULL;
	doc = xmlReadMemory(xml, (int) len, "s3-response.xml", NULL, PARSE_OPTS);
	if (doc == NULL)
		return NULL;
	if (doc->intSubset != NULL || doc->extSubset != NULL || xmlDocGetRootElement(doc) == NULL)
	{
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static int
name_is(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->name &&
		strcmp((const char *) n->name, name) == 0;
}

/* first element named `name` at or below n (depth first) */
static xmlNodePtr
find_desc(xmlNodePtr n, const char *name)
{
	xmlNodePtr	c;
	xmlNodePtr	r;

	for (; n; n = n->next)
	{
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (name_is(n, name))
			return n;
		for (c = n->children; c; c = c->next)
		{
			if (c->type != XML_ELEMENT_NODE)
				continue;
			r = find_desc(c, name);
			if (r)
				return r;
			break;				/* find_desc walks siblings itself */
		}
	}
	return NULL;
}

/* direct child element named `name` */
static xmlNodePtr
child(xmlNodePtr n, const char *name)
{
	xmlNodePtr	c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c; c = c->next)
		if (name_is(c, name))
			return c;
	return NULL;
}

/* concatenated text/CDATA children (entity references are not followed) */
static char *
node_text(xmlNodePtr n)
{
	btx_buf		b;
	xmlNodePtr	c;

	if (n == NULL)
		return NULL;
	btx_buf_init(&b);
	btx_buf_append(&b, "", 0);
	for (c = n->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			btx_buf_puts(&b, (const char *) c->content);
	if (b.oom)
	{
		btx_buf_free(&b);
		return NULL;
	}
	return btx_buf_steal(&b);
}

static void
copy_text(xmlNodePtr n, char *dst, size_t sz)
{
	char	   *t = node_text(n);

	dst[0] = '\0';
	if (t)
	{
		snprintf(dst, sz, "%s", t);
		free(t);
	}
}

int
btx_s3xml_parse_error(const char *xml, size_t len, btx_s3xml_error *out)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	xmlNodePtr	err;

	memset(out, 0, sizeof(*out));
	doc = read_doc(xml, len);
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!name_is(root, "Error") && !name_is(root, "ErrorResponse"))
	{
		xmlFreeDoc(doc);
		return -1;
	}
	err = name_is(root, "Error") ? root : find_desc(root->children, "Error");
	if (err == NULL)
		err = root;
	copy_text(find_desc(err->children, "Code"), out->code, sizeof(out->code));
	copy_text(find_desc(err->children, "Message"), out->message, sizeof(out->message));
	copy_text(find_desc(root->children, "RequestId"), out->request_id, sizeof(out->request_id));
	copy_text(find_desc(err->children, "Region"), out->region, sizeof(out->region));
	copy_text(find_desc(err->children, "Endpoint"), out->endpoint, sizeof(out->endpoint));
	copy_text(find_desc(err->children, "ServerTime"), out->server_time, sizeof(out->server_time));
	xmlFreeDoc(doc);
	return 0;
}

int
btx_s3xml_parse_initiate(const char *xml, size_t len, char **upload_id)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	char	   *t;

	*upload_id = NULL;
	doc = read_doc(xml, len);
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	t = name_is(root, "InitiateMultipartUploadResult") ? node_text(child(root, "UploadId")) : NULL;
	xmlFreeDoc(doc);
	if (t == NULL || t[0] == '\0')
	{
		free(t);
		return -1;
	}
	*upload_id = t;
	return 0;
}

int
btx_s3xml_parse_complete(const char *xml, size_t len, char *etag, size_t etagsz)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	int			r = -1;

	etag[0] = '\0';
	doc = read_doc(xml, len);
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	/* AWS: CompleteMultipartUploadResult; moto 5.2: ...Response.  Any non-error root. */
	if (!name_is(root, "Error") && !name_is(root, "ErrorResponse"))
	{
		copy_text(child(root, "ETag"), etag, etagsz);
		r = 0;
	}
	xmlFreeDoc(doc);
	return r;
}

void
btx_s3_object_list_free(btx_s3_object_list *l)
{
	int			i;

	for (i = 0; i < l->n; i++)
	{
		free(l->items[i].key);
		free(l->items[i].etag);
	}
	free(l->items);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

static int
text_is_true(xmlNodePtr n)
{
	char	   *t = node_text(n);
	int			r = t && strcmp(t, "true") == 0;

	free(t);
	return r;
}

/*
 * A listing (ListObjectsV2, ListMultipartUploads): the document if its root
 * is root_name, with its IsTruncated flag; NULL when it is not such a list.
 */
static xmlDocPtr
read_list(const char *xml, size_t len, const char *root_name, xmlNodePtr *root, int *truncated)
{
	xmlDocPtr	doc = read_doc(xml, len);

	if (doc == NULL)
		return NULL;
	*root = xmlDocGetRootElement(doc);
	if (!name_is(*root, root_name))
	{
		xmlFreeDoc(doc);
		return NULL;
	}
	*truncated = text_is_true(child(*root, "IsTruncated"));
	return doc;
}

/* room for one more item of size bytes at (*items)[n]; -1 when out of memory */
static int
grow(void **items, int n, size_t size)
{
	void	   *p = realloc(*items, (size_t) (n + 1) * size);

	if (p == NULL)
		return -1;
	*items = p;
	return 0;
}

int
btx_s3xml_parse_list_objects(const char *xml, size_t len, btx_s3_object_list *out)
{
	xmlNodePtr	root;
	xmlNodePtr	c;
	xmlDocPtr	doc = read_list(xml, len, "ListBucketResult", &root, &out->truncated);
	int			r = 0;

	if (doc == NULL)
		return -1;
	free(out->next_token);
	out->next_token = node_text(child(root, "NextContinuationToken"));
	for (c = root->children; c && r == 0; c = c->next)
	{
		btx_s3_object *item;
		char	   *size;

		if (!name_is(c, "Contents"))
			continue;
		if (grow((void **) &out->items, out->n, sizeof(btx_s3_object)) != 0)
			break;
		item = &out->items[out->n++];
		item->key = node_text(child(c, "Key"));
		item->etag = node_text(child(c, "ETag"));
		size = node_text(child(c, "Size"));
		item->size = size ? strtoll(size, NULL, 10) : -1;
		free(size);
		if (item->key == NULL)
			r = -1;
	}
	if (c != NULL && r == 0)
		r = -1;					/* out of memory */
	xmlFreeDoc(doc);
	return r;
}

void
btx_s3_upload_list_free(btx_s3_upload_list *l)
{
	int			i;

	for (i = 0; i < l->n; i++)
	{
		free(l->items[i].key);
		free(l->items[i].upload_id);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int
btx_s3xml_parse_list_uploads(const char *xml, size_t len, btx_s3_upload_list *out)
{
	xmlNodePtr	root;
	xmlNodePtr	c;
	xmlDocPtr	doc = read_list(xml, len, "ListMultipartUploadsResult", &root, &out->truncated);
	int			r = 0;

	if (doc == NULL)
		return -1;
	for (c = root->children; c && r == 0; c = c->next)
	{
		btx_s3_upload_info *item;

		if (!name_is(c, "Upload"))
			continue;
		if (grow((void **) &out->items, out->n, sizeof(btx_s3_upload_info)) != 0)
			break;
		item = &out->items[out->n++];
		item->key = node_text(child(c, "Key"));
		item->upload_id = node_text(child(c, "UploadId"));
		if (item->key == NULL || item->upload_id == NULL)
			r = -1;
	}
	if (c != NULL && r == 0)
		r = -1;					/* out of memory */
	xmlFreeDoc(doc);
	return r;
}

int
btx_s3xml_parse_iso8601(const char *s, time_t *out)
{
	int			y,
				mo,
				d,
				h,
				mi,
				se;
	int			n = 0;
	const char *p;

	if (s == NULL)
		return -1;
	while (isspace((unsigned char) *s))
		s++;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
		return -1;
	p = s + n;
	if (*p == '.')
	{
		p++;
		if (!isdigit((unsigned char) *p))
			return -1;
		while (isdigit((unsigned char) *p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (strncmp(p, "+00:00", 6) == 0)
		p += 6;
	else
		return -1;
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return -1;
	return btx_http_utc_time(y, mo - 1, d, h, mi, se, out);
}

void
btx_s3xml_sts_credentials_free(btx_s3xml_sts_credentials *c)
{
	if (c->secret_access_key)
		memset(c->secret_access_key, 0, strlen(c->secret_access_key));
	if (c->session_token)
		memset(c->session_token, 0, strlen(c->session_token));
	free(c->access_key_id);
	free(c->secret_access_key);
	free(c->session_token);
	free(c->assumed_role_arn);
	memset(c, 0, sizeof(*c));
}

int
btx_s3xml_parse_sts_credentials(const char *xml, size_t len, btx_s3xml_sts_credentials *out)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	xmlNodePtr	cr;
	xmlNodePtr	aru;
	char	   *exp = NULL;
	int			r = -1;

	memset(out, 0, sizeof(*out));
	doc = read_doc(xml, len);
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (name_is(root, "ErrorResponse") || name_is(root, "Error"))
	{
		xmlFreeDoc(doc);
		return -1;
	}
	cr = find_desc(root, "Credentials");
	if (cr)
	{
		out->access_key_id = node_text(child(cr, "AccessKeyId"));
		out->secret_access_key = node_text(child(cr, "SecretAccessKey"));
		out->session_token = node_text(child(cr, "SessionToken"));
		exp = node_text(child(cr, "Expiration"));
		aru = find_desc(root, "AssumedRoleUser");
		if (aru)
			out->assumed_role_arn = node_text(child(aru, "Arn"));
		if (out->access_key_id && out->access_key_id[0] &&
			out->secret_access_key && out->secret_access_key[0] &&
			out->session_token && out->session_token[0] &&
			exp && btx_s3xml_parse_iso8601(exp, &out->expiration) == 0)
			r = 0;
	}
	free(exp);
	xmlFreeDoc(doc);
	if (r != 0)
		btx_s3xml_sts_credentials_free(out);
	return r;
}
