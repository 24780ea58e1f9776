/*
 * Reading a music file's tags and audio properties with TagLib's C++ API,
 * whose PropertyMap has the fields TagLib's C bindings lack (album artist,
 * disc number, MusicBrainz ids). The project's only C++; nothing is thrown
 * past mtag_meta_read.
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
#include <taglib/flacfile.h>
#include <taglib/mp4file.h>
#include <taglib/mpcfile.h>
#include <taglib/mpegfile.h>
#include <taglib/oggflacfile.h>
#include <taglib/opusfile.h>
#include <taglib/speexfile.h>
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

int
mtag_meta_read(const char *path, mtag_meta *m, char *err, size_t errlen)
{
	try {
		TagLib::FileRef f(path, true, TagLib::AudioProperties::Average);
		TagLib::AudioProperties *a;

		if (f.isNull())
			return mtag_seterr(err, errlen, path, "%s",
			    access(path, R_OK) != 0 ? strerror(errno) :
			    unreadable);
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
