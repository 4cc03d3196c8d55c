/* mw_font.h - a 5x7 bitmap font for the status overlay (upper case, digits, punctuation). */
#ifndef MW_FONT_H
#define MW_FONT_H

/* Seven rows (top first) of five bits (bit 4 = leftmost column) for character c; lower case is
 * drawn as upper case and unknown characters as a blank. */
const unsigned char *mw_glyph(char c);

#endif
