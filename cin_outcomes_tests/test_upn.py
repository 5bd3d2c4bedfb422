from cin_outcomes.upn import check_letter, is_valid_upn, make_upn


def test_check_letter_by_hand():
    # body 801200100101: weights 2..13 -> 8*2+0*3+1*4+2*5+0*6+0*7+1*8+0*9+0*10+1*11+0*12+1*13 = 62; 62 % 23 = 16
    # alphabet without I, O, S: A B C D E F G H J K L M N P Q R T -> index 16 is T
    assert check_letter("801200100101") == "T"
    assert is_valid_upn("T801200100101")
    assert not is_valid_upn("A801200100101")


def test_make_upn_round_trips_and_rejects_bad_formats():
    upn = make_upn("318", 2001, 2019, 7)
    assert upn[1:] == "318200119007" and is_valid_upn(upn)
    for bad in (None, "", "UN1", "I801200100101", "T80120010010", "T8012001001011"):
        assert not is_valid_upn(bad)
