/*
 * Reading a music file's tags and audio properties, and writing tag fields,
 * with TagLib's C++ API, whose PropertyMap has the fields TagLib's C
 * bindings lack (album artist, disc number, MusicBrainz ids, custom and
 * multi-valued fields). The project's only C++; nothing is thrown past the
 * functions of meta.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <new>

#include <taglib/aifffile.h>
#include <taglib/apefile.h>
#include <taglib/asffile.h>
#include <taglib/fileref.h>
#include <taglib/id3v2tag.h>
#include <taglib/flacfile.h>
#include <taglib/mp4file.h>
#include <taglib/mp4tag.h>
#include <taglib/mpcfile.h>
#include <taglib/mpegfile.h>
#include <taglib/oggflacfile.h>
#include <taglib/opusfile.h>
#include <taglib/speexfile.h>
#include <taglib/textidentificationframe.h>
#include <taglib/tfilestream.h>
#include <taglib/tpropertymap.h>
#include <taglib/trueaudiofile.h>
#include <taglib/vorbisfile.h>
#include <taglib/wavfile.h>
#include <taglib/wavpackfile.h>

#include "error.h"
#include "meta.h"

/* The values of key joined with "; ", or NULL; throws std::bad_alloc. */
static char *
text(const TagLib::PropertyMap &p, const char *key)
{
	TagLib::PropertyMap::ConstIterator it = p.find(key);
	TagLib::String s;
	char *dup;

	if (it == p.end())
		return NULL;
	for (TagLib::StringList::ConstIterator v = it->second.begin();
	    v != it->second.end(); ++v) {
		if (v->isEmpty())
			continue;
		if (!s.isEmpty())
			s += "; ";
		s += *v;
	}
	if (s.isEmpty())
		return NULL;
	if ((dup = strdup(s.toCString(true))) == NULL)
		throw std::bad_alloc();
	return dup;
}

/*
 * The number in the leading digits of key's first value ("3/12" gives 3,
 * "2001-05-03" 2001 with maxdigits 4), or 0 when it has fewer than mindigits.
 */
static int
number(const TagLib::PropertyMap &p, const char *key, int mindigits,
    int maxdigits)
{
	TagLib::PropertyMap::ConstIterator it = p.find(key);
	TagLib::String s;
	const char *c;
	int n = 0, i;

	if (it == p.end() || it->second.isEmpty())
		return 0;
	s = it->second.front().stripWhiteSpace();
	c = s.toCString(true);
	for (i = 0; i < maxdigits && isdigit((unsigned char)c[i]); i++)
		n = n * 10 + (c[i] - '0');
	return i < mindigits ? 0 : n;
}

static const char *
codec(TagLib::File *f)
{
	if (TagLib::MPEG::File *mp = dynamic_cast<TagLib::MPEG::File *>(f)) {
		switch (mp->audioProperties()->layer()) {
		case 1:
			return "mp1";
		case 2:
			return "mp2";
		default:
			return "mp3";
		}
	}
	if (TagLib::MP4::File *mp4 = dynamic_cast<TagLib::MP4::File *>(f)) {
		switch (mp4->audioProperties()->codec()) {
		case TagLib::MP4::Properties::AAC:
			return "aac";
		case TagLib::MP4::Properties::ALAC:
			return "alac";
		default:
			return "";
		}
	}
	if (dynamic_cast<TagLib::FLAC::File *>(f) != NULL ||
	    dynamic_cast<TagLib::Ogg::FLAC::File *>(f) != NULL)
		return "flac";
	if (dynamic_cast<TagLib::Ogg::Vorbis::File *>(f) != NULL)
		return "vorbis";
	if (dynamic_cast<TagLib::Ogg::Opus::File *>(f) != NULL)
		return "opus";
	if (dynamic_cast<TagLib::Ogg::Speex::File *>(f) != NULL)
		return "speex";
	if (dynamic_cast<TagLib::RIFF::WAV::File *>(f) != NULL ||
	    dynamic_cast<TagLib::RIFF::AIFF::File *>(f) != NULL)
		return "pcm";
	if (dynamic_cast<TagLib::APE::File *>(f) != NULL)
		return "ape";
	if (dynamic_cast<TagLib::WavPack::File *>(f) != NULL)
		return "wavpack";
	if (dynamic_cast<TagLib::ASF::File *>(f) != NULL)
		return "wma";
	if (dynamic_cast<TagLib::MPC::File *>(f) != NULL)
		return "mpc";
	if (dynamic_cast<TagLib::TrueAudio::File *>(f) != NULL)
		return "tta";
	return "";
}

static const char unreadable[] =
    "cannot read tags (not a supported audio file or corrupt)";

/* The message for a file TagLib cannot open. */
static const char *
open_error(const char *path)
{
	return access(path, R_OK) != 0 ? strerror(errno) : unreadable;
}

int
mtag_meta_read(const char *path, mtag_meta *m, char *err, size_t errlen)
{
	try {
		/* Read-only: closing a file opened for writing would tell
		 * inotify watchers (ours) that it was written. */
		TagLib::FileStream s(path, true);
		TagLib::FileRef f(&s, true, TagLib::AudioProperties::Average);
		TagLib::AudioProperties *a;

		if (f.isNull())
			return mtag_seterr(err, errlen, path, "%s",
			    open_error(path));
		if ((a = f.audioProperties()) == NULL || a->sampleRate() <= 0)
			return mtag_seterr(err, errlen, path, "%s", unreadable);

		const TagLib::PropertyMap p = f.file()->properties();

		m->title = text(p, "TITLE");
		m->artist = text(p, "ARTIST");
		m->album = text(p, "ALBUM");
		m->albumartist = text(p, "ALBUMARTIST");
		m->genre = text(p, "GENRE");
		m->mb_trackid = text(p, "MUSICBRAINZ_TRACKID");
		m->mb_albumid = text(p, "MUSICBRAINZ_ALBUMID");
		m->mb_artistid = text(p, "MUSICBRAINZ_ARTISTID");
		m->year = number(p, "DATE", 4, 4);
		m->track = number(p, "TRACKNUMBER", 1, 6);
		m->disc = number(p, "DISCNUMBER", 1, 6);
		strncpy(m->codec, codec(f.file()), sizeof(m->codec) - 1);
		m->duration = a->lengthInMilliseconds() / 1000.0;
		m->sample_rate = a->sampleRate();
		m->channels = a->channels();
		m->bitrate = a->bitrate();
		return 0;
	} catch (const std::bad_alloc &) {
		mtag_meta_clear(m);
		return mtag_seterr(err, errlen, path, "out of memory");
	} catch (...) {
		mtag_meta_clear(m);
		return mtag_seterr(err, errlen, path, "%s", unreadable);
	}
}

void
mtag_meta_clear(mtag_meta *m)
{
	free(m->title);
	free(m->artist);
	free(m->album);
	free(m->albumartist);
	free(m->genre);
	free(m->mb_trackid);
	free(m->mb_albumid);
	free(m->mb_artistid);
	memset(m, 0, sizeof(*m));
}

void
mtag_meta_fields_clear(mtag_meta_field *f, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < f[i].nvalues; j++)
			free(f[i].values[j]);
		free(f[i].values);
		f[i].values = NULL;
		f[i].nvalues = 0;
	}
}

/* Copies the values of f's key in p into f; throws std::bad_alloc. */
static void
get_field(const TagLib::PropertyMap &p, mtag_meta_field *f)
{
	TagLib::PropertyMap::ConstIterator it = p.find(f->key);

	if (it == p.end() || it->second.isEmpty())
		return;
	if ((f->values = (char **)calloc(it->second.size(),
	    sizeof(*f->values))) == NULL)
		throw std::bad_alloc();
	for (TagLib::StringList::ConstIterator v = it->second.begin();
	    v != it->second.end(); ++v) {
		if ((f->values[f->nvalues] = strdup(v->toCString(true))) ==
		    NULL)
			throw std::bad_alloc();
		f->nvalues++;
	}
}

/* The prefix of the MP4 freeform atoms TagLib's PropertyMap lacks. */
static const char freeform[] = "----:com.apple.iTunes:";

/*
 * The tags of f: its PropertyMap, where the text MP4 freeform atoms that
 * TagLib leaves out of it (----:com.apple.iTunes:KEY) are KEY.
 */
static TagLib::PropertyMap
snapshot(TagLib::File *f)
{
	TagLib::MP4::File *mp4 = dynamic_cast<TagLib::MP4::File *>(f);
	TagLib::PropertyMap p = f->properties();
	TagLib::StringList &u = p.unsupportedData();
	const unsigned int n = sizeof(freeform) - 1;

	if (mp4 == NULL || mp4->tag() == NULL)
		return p;
	for (TagLib::StringList::Iterator it = u.begin(); it != u.end();) {
		TagLib::StringList v;

		if (it->startsWith(freeform) && it->size() > n)
			v = mp4->tag()->item(*it).toStringList();
		if (v.isEmpty()) {
			++it;
			continue;
		}
		p.insert(it->substr(n), v);
		it = u.erase(it);
	}
	return p;
}

int
mtag_meta_get(const char *path, mtag_meta_field *f, int n, char *err,
    size_t errlen)
{
	int i;

	try {
		TagLib::FileStream s(path, true);
		TagLib::FileRef r(&s, false);

		if (r.isNull())
			return mtag_seterr(err, errlen, path, "%s",
			    open_error(path));
		const TagLib::PropertyMap p = snapshot(r.file());
		for (i = 0; i < n; i++)
			get_field(p, &f[i]);
		return 0;
	} catch (const std::bad_alloc &) {
		mtag_meta_fields_clear(f, n);
		return mtag_seterr(err, errlen, path, "out of memory");
	} catch (...) {
		mtag_meta_fields_clear(f, n);
		return mtag_seterr(err, errlen, path, "%s", unreadable);
	}
}

static bool
writable(TagLib::File *f)
{
	return dynamic_cast<TagLib::MPEG::File *>(f) != NULL ||
	    dynamic_cast<TagLib::FLAC::File *>(f) != NULL ||
	    dynamic_cast<TagLib::Ogg::Vorbis::File *>(f) != NULL ||
	    dynamic_cast<TagLib::Ogg::Opus::File *>(f) != NULL ||
	    dynamic_cast<TagLib::MP4::File *>(f) != NULL;
}

/* The ID3v2 version of an mp3 file's tag: 3 for ID3v2.3, else 4 (the
 * version TagLib writes). */
static int
id3v2_version(TagLib::File *f)
{
	TagLib::MPEG::File *mp = dynamic_cast<TagLib::MPEG::File *>(f);

	return mp != NULL && mp->hasID3v2Tag() &&
	    mp->ID3v2Tag()->header()->majorVersion() == 3 ? 3 : 4;
}

/* Turns the TMOO frames of t, which ID3v2.3 lacks, into TXXX:MOOD. */
static void
mood_as_txxx(TagLib::ID3v2::Tag *t)
{
	const TagLib::ID3v2::FrameList l = t->frameList("TMOO");

	for (TagLib::ID3v2::FrameList::ConstIterator it = l.begin();
	    it != l.end(); ++it) {
		TagLib::ID3v2::TextIdentificationFrame *tf =
		    dynamic_cast<TagLib::ID3v2::TextIdentificationFrame *>(*it);

		if (tf != NULL)
			t->addFrame(new TagLib::ID3v2::UserTextIdentificationFrame(
			    "MOOD", tf->fieldList()));
		t->removeFrame(*it);
	}
}

/* Saves f; an mp3 keeps its ID3v2 version and gains no other tag. */
static bool
save(TagLib::File *f, int version)
{
	TagLib::MPEG::File *mp = dynamic_cast<TagLib::MPEG::File *>(f);

	if (mp == NULL)
		return f->save();
	return mp->save(TagLib::MPEG::File::AllTags, TagLib::File::StripNone,
	    version == 3 ? TagLib::ID3v2::v3 : TagLib::ID3v2::v4,
	    TagLib::File::DoNotDuplicate);
}

/* The values of field f; ID3v2.3, which has no multi-valued text frames,
 * gets them joined with "; ". */
static TagLib::StringList
values(const mtag_meta_field *f, int version)
{
	TagLib::StringList v;
	int i;

	for (i = 0; i < f->nvalues; i++)
		v.append(TagLib::String(f->values[i], TagLib::String::UTF8));
	if (version == 3 && v.size() > 1)
		return TagLib::StringList(v.toString("; "));
	return v;
}

/*
 * Sets the n fields in f's tags (not saved), into want the tags it should
 * then have; the keys TagLib cannot write are appended to unwritten. MP4
 * files take the keys TagLib does not know as freeform atoms.
 */
static void
apply(TagLib::File *file, const mtag_meta_field *f, int n, int version,
    TagLib::PropertyMap &want, TagLib::StringList &unwritten)
{
	TagLib::MP4::File *mp4 = dynamic_cast<TagLib::MP4::File *>(file);
	int i;

	want = snapshot(file);
	for (i = 0; i < n; i++) {
		const TagLib::StringList v = values(&f[i], version);

		want.erase(f[i].key);
		if (!v.isEmpty())
			want.insert(f[i].key, v);
	}
	const TagLib::PropertyMap rest = file->setProperties(want);
	for (TagLib::PropertyMap::ConstIterator it = rest.begin();
	    it != rest.end(); ++it) {
		const TagLib::String atom = freeform + it->first;

		if (mp4 == NULL)
			unwritten.append(it->first);
		else if (!mp4->tag()->contains(atom) ||
		    !(mp4->tag()->item(atom).toStringList() == it->second))
			mp4->tag()->setItem(atom, it->second);
	}
	for (i = 0; mp4 != NULL && i < n; i++)
		if (f[i].nvalues == 0)
			mp4->tag()->removeItem(freeform + TagLib::String(f[i].key));
	if (version == 3)
		mood_as_txxx(dynamic_cast<TagLib::MPEG::File *>(file)->ID3v2Tag());
}

/* The first key whose values differ between a and b ("" when only the
 * unsupported data does). */
static TagLib::String
first_difference(const TagLib::PropertyMap &a, const TagLib::PropertyMap &b)
{
	for (int k = 0; k < 2; k++) {
		const TagLib::PropertyMap &x = k == 0 ? a : b;
		const TagLib::PropertyMap &y = k == 0 ? b : a;

		for (TagLib::PropertyMap::ConstIterator it = x.begin();
		    it != x.end(); ++it) {
			TagLib::PropertyMap::ConstIterator o = y.find(it->first);

			if (o == y.end() || !(o->second == it->second))
				return it->first;
		}
	}
	return "";
}

int
mtag_meta_set(const char *path, const mtag_meta_field *f, int n, char *err,
    size_t errlen)
{
	TagLib::PropertyMap want;
	TagLib::StringList unwritten;
	int version;

	try {
		{
			TagLib::FileRef r(path, false);

			if (r.isNull())
				return mtag_seterr(err, errlen, path, "%s",
				    open_error(path));
			if (!writable(r.file()))
				return mtag_seterr(err, errlen, path, "writing "
				    "tags into this format is not supported");
			version = id3v2_version(r.file());
			apply(r.file(), f, n, version, want, unwritten);
			if (!unwritten.isEmpty())
				return mtag_seterr(err, errlen, path, "TagLib "
				    "cannot write %s into this file",
				    unwritten.toString(", ").toCString(true));
			if (!save(r.file(), version))
				return mtag_seterr(err, errlen, path, "cannot "
				    "write the tags: %s", access(path, W_OK) !=
				    0 ? strerror(errno) : "TagLib failed");
		}
		TagLib::FileRef r(path, false);

		if (r.isNull())
			return mtag_seterr(err, errlen, path, "the tags written "
			    "cannot be read back");
		const TagLib::PropertyMap got = snapshot(r.file());
		if (!(got == want))
			return mtag_seterr(err, errlen, path, "the tags read back "
			    "differ from those written (%s)",
			    first_difference(got, want).toCString(true));
		if (id3v2_version(r.file()) != version)
			return mtag_seterr(err, errlen, path, "the ID3v2 tag "
			    "read back is not version 2.%d", version);
		return 0;
	} catch (const std::bad_alloc &) {
		return mtag_seterr(err, errlen, path, "out of memory");
	} catch (...) {
		return mtag_seterr(err, errlen, path, "%s", unreadable);
	}
}
